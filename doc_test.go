package wallet_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Package docs name only what exists. A doc that names a type or function
// that was renamed or removed sends a reader looking for it; this test
// finds the names in every package doc of the module that can be checked
// without guessing, and fails for each that its package does not declare:
//
//   - pkg.Name and pkg.Name.Member, where pkg is a package of this module
//     (wallet.Account, processors.Bounds.ReadAccounts, audit.Report.OK);
//   - Name.Member, where Name is a type of the doc's own package
//     (Options.OnCorrupt);
//   - CamelCase words of two humps or more (DecideClaim, MarkRecovered),
//     which are not English, so they name something the doc's own
//     package declares, at top level or as a method or field;
//   - anything in backquotes that looks like one of the above.
//
// A Member is a method or field of the type, or of a type it embeds.
// Names of other modules (goka.WithTester) are not checked, nor single
// words (Apply, Bounds), which cannot be told from English.
func TestPackageDocsNameWhatExists(t *testing.T) {
	pkgs := parseModule(t)
	byName := map[string]*docPackage{}
	for _, p := range pkgs {
		if p.name != "main" {
			byName[p.name] = p
		}
	}
	for _, p := range pkgs {
		for _, ref := range docRefs(p.doc) {
			target, name := p, ref
			if first, rest, ok := strings.Cut(ref, "."); ok && first == strings.ToLower(first) {
				q, ours := byName[first]
				if !ours {
					continue // another module's package
				}
				target, name = q, rest
			}
			if !target.names[name] && (strings.Contains(ref, ".") || !p.members[name]) {
				t.Errorf("the package doc of %s names %s, which package %s does not declare", p.dir, ref, target.name)
			}
		}
	}
	if len(pkgs) < 10 {
		t.Errorf("checked the docs of %d packages: the walk of the module missed some", len(pkgs))
	}
}

// docPackage is a package of the module: its doc and what it declares.
type docPackage struct {
	dir, name, doc string
	// names are the top-level names, and Type.Member for the methods and
	// fields of each type (promoted ones included).
	names map[string]bool
	// members are the names of the methods and fields of every type.
	members map[string]bool
}

// parseModule parses every package of the module under the current
// directory, its root, leaving out third_party and testdata.
func parseModule(t *testing.T) []*docPackage {
	t.Helper()
	var pkgs []*docPackage
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "third_party") {
			return filepath.SkipDir
		}
		p, err := parseDir(path)
		if err != nil {
			return err
		}
		if p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// parseDir parses the non-test Go files of dir, or returns nil if there
// are none.
func parseDir(dir string) (*docPackage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, nil
	}
	p := &docPackage{dir: dir, name: files[0].Name.Name, names: map[string]bool{}, members: map[string]bool{}}
	members := map[string][]string{} // type: its methods and fields
	embeds := map[string][]string{}  // type: the types it embeds
	for _, f := range files {
		if f.Doc != nil {
			p.doc += f.Doc.Text()
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					p.names[decl.Name.Name] = true
				} else if recv := typeName(decl.Recv.List[0].Type); recv != "" {
					members[recv] = append(members[recv], decl.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						p.names[spec.Name.Name] = true
						fieldsOf(spec, members, embeds)
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							p.names[n.Name] = true
						}
					}
				}
			}
		}
	}
	for typ := range members {
		for _, m := range promoted(typ, members, embeds, map[string]bool{}) {
			p.names[typ+"."+m] = true
			p.members[m] = true
		}
	}
	return p, nil
}

// fieldsOf records the fields (or interface methods) of a type, and the
// types it embeds.
func fieldsOf(spec *ast.TypeSpec, members, embeds map[string][]string) {
	var list *ast.FieldList
	switch typ := spec.Type.(type) {
	case *ast.StructType:
		list = typ.Fields
	case *ast.InterfaceType:
		list = typ.Methods
	default:
		return
	}
	typ := spec.Name.Name
	for _, field := range list.List {
		if len(field.Names) == 0 {
			if name := typeName(field.Type); name != "" {
				embeds[typ] = append(embeds[typ], name)
				members[typ] = append(members[typ], name)
			}
			continue
		}
		for _, n := range field.Names {
			members[typ] = append(members[typ], n.Name)
		}
	}
}

// promoted returns the members of typ and of the types it embeds.
func promoted(typ string, members, embeds map[string][]string, seen map[string]bool) []string {
	if seen[typ] {
		return nil
	}
	seen[typ] = true
	all := members[typ]
	for _, e := range embeds[typ] {
		all = append(all, promoted(e, members, embeds, seen)...)
	}
	return all
}

// typeName returns the name of a receiver or embedded type of the same
// package (T, *T, T[P]), or "" for another package's.
func typeName(expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.IndexExpr:
		return typeName(e.X)
	case *ast.IndexListExpr:
		return typeName(e.X)
	}
	return ""
}

var (
	// qualified is pkg.Name or pkg.Name.Member, and Name.Member.
	qualified = regexp.MustCompile(`\b([a-z][a-z0-9]*\.[A-Z]\w*(?:\.[A-Z]\w*)?|[A-Z]\w*\.[A-Z]\w*)\b`)
	// camel is a CamelCase word of two humps or more.
	camel = regexp.MustCompile(`\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b`)
	// quoted is a backquoted Go name, qualified or not.
	quoted = regexp.MustCompile("`([A-Za-z_]\\w*(?:\\.[A-Za-z_]\\w*)*)`")
)

// docRefs returns the names a doc refers to that the test checks, once
// each. Indented lines (code and diagrams) are left out: they show
// commands, paths and topics rather than name Go declarations.
func docRefs(doc string) []string {
	var prose []string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "  ") {
			prose = append(prose, line)
		}
	}
	text := strings.Join(prose, "\n")
	refs := map[string]bool{}
	for _, m := range qualified.FindAllString(text, -1) {
		refs[m] = true
	}
	for _, m := range camel.FindAllString(text, -1) {
		refs[m] = true
	}
	for _, m := range quoted.FindAllStringSubmatch(text, -1) {
		refs[m[1]] = true
	}
	// A qualified name found as a whole is not checked again in parts.
	for ref := range refs {
		if !strings.Contains(ref, ".") {
			continue
		}
		for _, part := range strings.Split(ref, ".") {
			if refs[part] && camel.MatchString(part) {
				delete(refs, part)
			}
		}
	}
	var sorted []string
	for ref := range refs {
		sorted = append(sorted, ref)
	}
	sort.Strings(sorted)
	return sorted
}
