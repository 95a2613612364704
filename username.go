package wallet

import (
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// World is the reserved account that stands for everything outside the
// wallet: deposits are transfers from it and withdrawals transfers to it.
// It exists from the start, and it alone may go below zero without limit,
// so that the balances of all accounts, World's included, sum to 0.00.
const World = "@world"

// MaxAccountLen is the longest account key, in bytes.
const MaxAccountLen = 64

// AccountKey returns the key of the account that name stands for, so that
// names a reader cannot tell apart are one account: "Alice", "alice", a
// full-width "Ａｌｉｃｅ" and "аlice" with a Cyrillic а all have the key
// "alice". Every path that takes an account name goes through it: the key
// routes the account's messages to its one partition, and it is what the
// tables are keyed by.
//
// The key is the name's canonical form by PRECIS UsernameCaseMapped
// (RFC 8265) taken to its confusable skeleton (Unicode UTS #39, see
// skeleton), less what a reader does not see or may not notice (see
// foldMarks): the joiners U+200C and U+200D, and combining marks on
// Latin letters, digits and symbols, so that "alicė" is "alice". A key is
// meant for comparison, not display ("m" becomes "rn", "0" becomes "o",
// "ι" becomes "i"): the name as first signed up is what the account
// shows.
//
// The key is a fixpoint: AccountKey(key) returns key, for every key it
// returns. Names with the same skeleton have the same key, or none.
//
// AccountKey does not check scripts, nor PRECIS's bidi rule, which are
// about how a name displays: a payer who types a look-alike of a name
// reaches the one account with that skeleton, and a key, which may mix
// scripts and directions ("דוד" has the key "דlד"), is its own key. Only
// signup refuses such names, in UsernameKey.
//
// World is its own key. Any other name beginning with "@" is reserved, as
// is a name that PRECIS refuses (spaces, control, invisible and other
// disallowed characters), one whose canonical form or key is empty or
// longer than MaxAccountLen bytes ("m" is two bytes in a key), and one
// whose skeleton PRECIS refuses: those are account_invalid errors.
func AccountKey(name string) (string, error) { return accountKey(name, true) }

// accountKey is AccountKey, with its fast path for ASCII names when fast
// is set (the test of the fast path compares it with the full one).
func accountKey(name string, fast bool) (string, error) {
	// No name longer than this has a key that fits (width mapping shrinks
	// a name by at most a factor of 4, a four-byte rune to one byte):
	// refuse it before working on it.
	if len(name) > 4*MaxAccountLen {
		return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	if rest, ok := strings.CutPrefix(name, "@"); ok {
		if key, err := precis.UsernameCaseMapped.String(rest); err == nil && "@"+key == World {
			return World, nil
		}
		return "", Errorf(EAccountInvalid, "account names beginning with @ are reserved")
	}
	if key, ok := asciiKey(name); ok && fast {
		if len(name) > MaxAccountLen || len(key) > MaxAccountLen {
			return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
		}
		return key, nil
	}
	canonical, err := keyProfile.String(name)
	if err != nil {
		return "", Errorf(EAccountInvalid, "account name %q is not a valid username: letters, digits and symbols without spaces (RFC 8265)", name)
	}
	// The canonical form is held to the same length as the key: a
	// display name of 64 bytes is long enough, and a string of combining
	// marks, which the key folds away, is not a name.
	if canonical == "" || len(canonical) > MaxAccountLen {
		return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	key, ok := confusableKey(canonical)
	if !ok {
		return "", Errorf(EAccountInvalid, "account name %q is not a valid username: it looks like characters that are not allowed (UTS #39)", name)
	}
	if key == "" || len(key) > MaxAccountLen {
		return "", Errorf(EAccountInvalid, "account name must be 1 to %d bytes long", MaxAccountLen)
	}
	// A name that looks like "@..." would have a reserved key, refused as
	// one when given again.
	if strings.HasPrefix(key, "@") {
		return "", Errorf(EAccountInvalid, "account names beginning with @ are reserved")
	}
	return key, nil
}

// keyProfile is PRECIS UsernameCaseMapped (width mapping, lowercase, NFC,
// the IdentifierClass) without its bidi rule: a skeleton mixes directions
// wherever a right-to-left letter looks like a Latin one (Hebrew ו is
// "l"), and such a key must be accepted again by AccountKey.
var keyProfile = precis.NewIdentifier(precis.FoldWidth, precis.LowerCase(), precis.Norm(norm.NFC))

// maxKeyRounds bounds the rounds of keyRound after the first that
// confusableKey runs looking for a fixpoint. Every code point tried, alone
// and next to letters of several scripts, settles by the second.
const maxKeyRounds = 4

// confusableKey returns the key of a name in keyProfile's canonical form,
// and false if there is none.
//
// One round is not enough for a key that AccountKey returns unchanged: the
// skeleton may give what PRECIS changes again ("0" becomes "O", which
// PRECIS lowercases to "o"). So the key is the first fixpoint of keyRound
// from keyRound(canonical): it depends only on canonical's skeleton, and
// AccountKey(key) finds key at once. A name whose rounds meet a string
// that PRECIS refuses, or do not settle, has no key.
func confusableKey(canonical string) (string, bool) {
	key, ok := keyRound(canonical)
	for range maxKeyRounds {
		if !ok {
			return "", false
		}
		next, nextOK := keyRound(key)
		if nextOK && next == key {
			return key, true
		}
		key, ok = next, nextOK
	}
	return "", false
}

// keyRound maps s to its skeleton and back to keyProfile's canonical form,
// and returns false if keyProfile refuses it.
func keyRound(s string) (string, bool) {
	key, err := keyProfile.String(foldMarks(skeleton(s)))
	return key, err == nil
}

// skeleton returns s's UTS #39 skeleton, in NFD, as the confusables
// package maps it from Unicode's confusables.txt, rune by rune, but for
// two kinds of runes that it keeps as they are:
//
//   - A rune whose skeleton PRECIS refuses: "ð" looks like "∂", "%" like
//     "º/₀", and neither can be in a name. Mapped, they would make every
//     name with them invalid ("guðrún" included); kept, they are their
//     own look-alikes, which no valid name could have been anyway.
//   - Hangul syllables. NFD splits a syllable into conjoining jamo, which
//     the skeleton maps to other jamo (a final ᆫ to an initial ᄂ) that can
//     no longer compose into a syllable, and PRECIS refuses jamo outside
//     syllables: no Korean name would have a key. A syllable has no entry
//     in confusables.txt.
func skeleton(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.Is(unicode.Hangul, r) {
			b.WriteRune(r)
			continue
		}
		for _, d := range norm.NFD.String(string(r)) {
			look := confusables.Skeleton(string(d))
			if _, err := keyProfile.String(look); err != nil {
				look = string(d)
			}
			b.WriteString(look)
		}
	}
	return b.String()
}

// foldMarks returns s, a skeleton in NFD, less what the confusables
// package leaves in it that a reader does not see or may not notice:
//
//   - The joiners U+200C and U+200D, which are invisible. Recent versions
//     of UTS #39 drop every default ignorable code point from a skeleton,
//     and the confusables package predates that; PRECIS refuses
//     all the others (U+200B, U+2060, U+00AD, U+FEFF...) but lets these
//     two through after a virama (RFC 5892, CONTEXTJ).
//   - Nonspacing combining marks (Mn) on a Latin letter, a digit or a
//     symbol, or on nothing. The skeleton keeps marks, so "alicė" (e and
//     U+0307 COMBINING DOT ABOVE) would be an account of its own, which a
//     reader takes for "alice". Folding these marks merges "émile" with
//     "emile", "zoë" with "zoe", "ø" with "o" (whose skeleton is "o" and
//     U+0338): one of each pair can be signed up, which is the point. The
//     look-alikes of Latin letters in Greek and Cyrillic are Latin in the
//     skeleton, so "ά" and "ё" fold too. Marks on the letters of other
//     scripts are kept: there they are often vowels or consonants
//     (Devanagari कु and क, kana が and か), and folding them would merge
//     names that do not look alike.
func foldMarks(s string) string {
	var b strings.Builder
	fold := true // until a base says otherwise
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Join_Control, r):
			continue
		case unicode.Is(unicode.Mn, r):
			if fold {
				continue
			}
		default:
			fold = unicode.Is(unicode.Latin, r) || unicode.Is(unicode.Common, r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// UsernameKey returns the key of an account that may be signed up as name:
// AccountKey's, with World refused too, and a name that mixes scripts (see
// checkScripts) or that PRECIS UsernameCaseMapped refuses in full, its
// bidi rule included. Errors are username_invalid.
//
// When it accepts name, its key is AccountKey(name). A signup should find
// the key with AccountKey and answer username_taken if the key is taken
// before it refuses the name with UsernameKey: "аlice" (Cyrillic а) mixes
// scripts, but after "alice" was signed up the answer that helps is that
// the name is taken, whatever its spelling.
func UsernameKey(name string) (string, error) {
	key, err := AccountKey(name)
	if err != nil {
		return "", Errorf(EUsernameInvalid, "%s", err.(*Error).Message)
	}
	if key == World {
		return "", Errorf(EUsernameInvalid, "account names beginning with @ are reserved")
	}
	if err := checkScripts(name); err != nil {
		return "", err
	}
	// AccountKey's profile is UsernameCaseMapped less its bidi rule, so
	// that rule is all that can fail here.
	if _, err := precis.UsernameCaseMapped.String(name); err != nil {
		return "", Errorf(EUsernameInvalid, "username %q breaks the bidi rule: a name with right-to-left letters must begin with one and have no left-to-right letters (RFC 5893)", name)
	}
	return key, nil
}

// writingSystems are the sets of scripts that one name may mix: UTS #39's
// augmented script sets, reduced to the scripts that Han is written with.
var writingSystems = [][]string{
	{"Han", "Hiragana", "Katakana"}, // Japanese
	{"Han", "Hangul"},               // Korean
	{"Han", "Bopomofo"},             // Chinese
}

// checkScripts returns a username_invalid error if name mixes scripts
// (UTS #39 single-script, by the Script property): "аlice" with a
// Cyrillic а is Cyrillic and Latin. Common characters (digits,
// punctuation) and Inherited ones (combining marks) belong to no script,
// and the scripts of one writing system (writingSystems) are one.
func checkScripts(name string) error {
	var scripts []string
	for _, r := range name {
		script := scriptOf(r)
		if script == "" || script == "Common" || script == "Inherited" || slices.Contains(scripts, script) {
			continue
		}
		scripts = append(scripts, script)
	}
	if len(scripts) <= 1 {
		return nil
	}
	for _, system := range writingSystems {
		if !slices.ContainsFunc(scripts, func(s string) bool { return !slices.Contains(system, s) }) {
			return nil
		}
	}
	slices.Sort(scripts)
	last := len(scripts) - 1
	return Errorf(EUsernameInvalid, "username %q mixes the %s and %s scripts: write it in one", name, strings.Join(scripts[:last], ", "), scripts[last])
}

// scriptOf returns the name of r's script in Go's unicode.Scripts, or ""
// if it has none (unassigned, which PRECIS refuses).
func scriptOf(r rune) string {
	for script, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return script
		}
	}
	return ""
}

// asciiKeys holds, for each printable ASCII byte, its key as the full path
// below gives it ("" where it has none alone), computed once at start.
// Most names are printable ASCII, and for them the key is the keys of
// their bytes end to end (PRECIS lowercases ASCII byte by byte, the
// skeleton maps rune by rune, and each byte's key is its own key):
// TestASCIIKeysCompose checks it against the full path, which costs about
// forty times as much (docs/BENCHMARKS.md), on every name a transfer names
// several times over.
var asciiKeys = func() (keys [128]string) {
	for b := byte('!'); b <= '~'; b++ {
		if b == '@' {
			continue // reserved at the start, and so left to the full path
		}
		if canonical, err := keyProfile.String(string(b)); err == nil {
			if key, ok := confusableKey(canonical); ok && !strings.HasPrefix(key, "@") {
				keys[b] = key
			}
		}
	}
	return keys
}()

// asciiKey returns the key of a name of printable ASCII bytes by
// asciiKeys, and false for any other name.
func asciiKey(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	n := 0
	for i := 0; i < len(name); i++ {
		b := name[i]
		if b >= 128 || asciiKeys[b] == "" {
			return "", false
		}
		n += len(asciiKeys[b])
	}
	var key strings.Builder
	key.Grow(n)
	for i := 0; i < len(name); i++ {
		key.WriteString(asciiKeys[name[i]])
	}
	return key.String(), true
}
