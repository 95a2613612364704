package wallet_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/wallet/wallet"
)

func TestAccountKey(t *testing.T) {
	tests := []struct {
		name string
		key  string // "" when refused
	}{
		{"Alice", "alice"},
		{"alice", "alice"},
		{"ALICE", "alice"},
		{"Ａｌｉｃｅ", "alice"}, // full-width letters map to ASCII
		{"ＢＯＢ", "bob"},
		{"bob", "bob"},
		{"Straße", "straße"},
		// The skeleton changes plain ASCII names too: keys are compared,
		// not shown.
		{"emile", "ernile"},       // m looks like rn
		{"e\u0301mile", "ernile"}, // and marks on Latin letters fold
		{"émile", "ernile"},
		{"acct-00033", "acct-ooo33"}, // 0 looks like O, which PRECIS lowercases
		{"acct-01", "acct-ol"},       // 1 looks like l
		{"@world", wallet.World},
		{"@World", wallet.World},
		{"@ｗｏｒｌｄ", wallet.World},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("é", 32), strings.Repeat("e", 32)},  // 64 bytes after NFC
		{strings.Repeat("m", 32), strings.Repeat("rn", 32)}, // 64 bytes in the key
		// A key may mix directions: Hebrew ו looks like l.
		{"דוד", "דlד"},
		// Hangul syllables are their own skeleton.
		{"한국어", "한국어"},
		// A letter whose look-alike PRECIS refuses is its own: ð looks
		// like ∂, % like º/₀.
		{"Guðrún", "guðrun"},
		{"50%", "5o%"},

		{"", ""},
		{"bob smith", ""}, // spaces are disallowed
		{" bob", ""},      // so are surrounding ones: the API trims first
		{"a\x00b", ""},    // control characters
		{"\uFFFD", ""},    // what encoding/json makes of invalid UTF-8
		{"\xff", ""},      // invalid UTF-8
		{"@", ""},         // reserved
		{"@bank", ""},     // reserved
		{"@world2", ""},   // reserved
		{"\u0301", ""},    // a mark and no letter: the key is empty
		{strings.Repeat("a", 65), ""},
		{strings.Repeat("e\u0301", 33), ""}, // 33 two-byte runes: 66 bytes after NFC
		{strings.Repeat("Ａ", 65), ""},       // 65 bytes after width mapping
		{strings.Repeat("m", 33), ""},       // 66 bytes in the key
		// 81 bytes after NFC, though the key would be "a".
		{"a" + strings.Repeat("\u0301", 40), ""},
		// The skeleton of ノ is not Japanese, and PRECIS allows the
		// katakana middle dot only in Japanese (RFC 5892, A.9).
		{"ノ・ノ", ""},
	}
	for _, tt := range tests {
		got, err := wallet.AccountKey(tt.name)
		if tt.key == "" {
			if err == nil || wallet.ErrorCode(err) != wallet.EAccountInvalid {
				t.Errorf("AccountKey(%q) = %q, %v; want an account_invalid error", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.key {
			t.Errorf("AccountKey(%q) = %q, %v; want %q", tt.name, got, err, tt.key)
		}
		if again, err := wallet.AccountKey(got); err != nil || again != got {
			t.Errorf("AccountKey(%q) = %q, %v; want the key itself", got, again, err)
		}
	}
}

// TestLookAlikes lists the look-alikes of names tried against the key
// (UTS #39 skeleton of the PRECIS form, see wallet.AccountKey) and signup
// (wallet.UsernameKey): what key each gets, and whether it can be signed
// up. A look-alike that signup accepts with the key of another name is
// answered username_taken once that name is signed up.
func TestLookAlikes(t *testing.T) {
	tests := []struct {
		name   string
		key    string // "" when AccountKey refuses it
		signup bool   // whether UsernameKey accepts it
	}{
		// Cyrillic homoglyphs.
		{"alice", "alice", true},
		{"аlice", "alice", false}, // Cyrillic а: mixes scripts, but reaches alice
		{"аlicе", "alice", false}, // Cyrillic а and е
		{"ace", "ace", true},
		{"асе", "ace", true}, // all Cyrillic: one script, and the key of Latin "ace"
		{"АСЕ", "ace", true},
		{"Йорк", "ᴎopĸ", true}, // Cyrillic й is и and a breve, which folds
		{"Иорк", "ᴎopĸ", true},

		// Greek homoglyphs.
		{"bob", "bob", true},
		{"bοb", "bob", false}, // Greek ο: mixes scripts, but reaches bob
		{"ορο", "opo", true},  // all Greek, the key of Latin "opo"
		// Greek capitals are case-mapped before the skeleton, as PRECIS
		// UsernameCaseMapped comes first: "ΑΒΕ" is "αβε", whose skeleton
		// is not "abe". A limit of case-insensitive keys: the skeleton of
		// a capital ("Β" is "B") and of its small letter ("β" is "ß")
		// differ, and one key cannot follow both.
		{"ΑΒΕ", "aßꞓ", true},
		{"αβε", "aßꞓ", true},
		{"ABE", "abe", true},

		// Combining marks. The skeleton keeps them, so "alicė" would be
		// an account of its own; the key folds marks on Latin letters
		// (wallet.AccountKey), so it is alice's, as are the accented
		// spellings of a name. Signup accepts it (Latin, and a mark that
		// belongs to no script), to answer username_taken.
		{"alice\u0307", "alice", true}, // e and U+0307 COMBINING DOT ABOVE
		{"alicė", "alice", true},       // U+0117, precomposed
		{"a\u0301\u0301\u0301lice", "alice", true},
		{"émile", "ernile", true},
		{"emile", "ernile", true},
		{"søren", "soren", true}, // ø is o and an overlay, which folds
		// Marks on letters of other scripts are kept: they make other
		// letters and other names.
		{"कुमार", "कुमार", true},
		{"कमार", "कमार", true},
		{"がっこう", "がっこう", true},
		{"かっこう", "かっこう", true},

		// Full-width forms.
		{"ａｌｉｃｅ", "alice", true},
		{"ＡＬＩＣＥ", "alice", true},
		{"ａlicе", "alice", false}, // full-width a, Cyrillic е

		// Invisible characters: PRECIS refuses them, but for the joiners
		// after a virama, which the key drops.
		{"al\u200bice", "", false}, // ZERO WIDTH SPACE
		{"al\u200cice", "", false}, // ZERO WIDTH NON-JOINER
		{"al\u200dice", "", false}, // ZERO WIDTH JOINER
		{"al\u2060ice", "", false}, // WORD JOINER
		{"al\u00adice", "", false}, // SOFT HYPHEN
		{"al\ufeffice", "", false}, // ZERO WIDTH NO-BREAK SPACE
		{"\ufeffalice", "", false},
		{"al\u034fice", "", false}, // COMBINING GRAPHEME JOINER
		{"al\ufe0fice", "", false}, // VARIATION SELECTOR-16
		{"क्ष", "क्ष", true},
		{"क्\u200dष", "क्ष", true},
		{"क्\u200cष", "क्ष", true},

		// Digits and letters.
		{"a1ice", "alice", true}, // 1 looks like l
		{"a11ce", "allce", true}, // but not like i
		{"al1ce", "allce", true},
		{"b0b", "bob", true},
		{"paypa1", "paypal", true},
		// A capital I looks like l in many fonts, but is case-mapped to i
		// first: the same limit as Greek capitals.
		{"AIice", "aiice", true},

		// rn and m.
		{"rn", "rn", true},
		{"m", "rn", true},
		{"money", "rnoney", true},
		{"rnoney", "rnoney", true},
		{"w", "w", true}, // vv is not in confusables.txt
		{"vv", "vv", true},
		{"d", "d", true}, // nor cl
		{"cl", "cl", true},

		// Scripts that one writing system mixes: Han and Katakana
		// (Japanese; タ looks like 夕), Hangul and Han (Korean), Han and
		// Bopomofo (Chinese). Not Latin and Han, nor Hangul and Katakana.
		{"東京タワー", "東京夕ワー", true},
		{"한국語", "한국語", true},
		{"注音ㄅㄆ", "注音ㄅㄆ", true},
		{"tokyo東京", "tokyo東京", false},
		{"한국カ", "한국力", false},
		// Right-to-left letters may look like Latin ones (ו like l), and
		// may not be mixed with them.
		{"דוד", "דlד", true},
		{"dאvid", "dאvid", false}, // Latin and Hebrew, in two directions
	}
	for _, tt := range tests {
		key, err := wallet.AccountKey(tt.name)
		if tt.key == "" {
			if err == nil {
				t.Errorf("AccountKey(%q) = %q; want an error", tt.name, key)
			}
		} else if err != nil || key != tt.key {
			t.Errorf("AccountKey(%q) = %q, %v; want %q", tt.name, key, err, tt.key)
		}
		ukey, err := wallet.UsernameKey(tt.name)
		switch {
		case tt.signup && (err != nil || ukey != tt.key):
			t.Errorf("UsernameKey(%q) = %q, %v; want %q", tt.name, ukey, err, tt.key)
		case !tt.signup && wallet.ErrorCode(err) != wallet.EUsernameInvalid:
			t.Errorf("UsernameKey(%q) = %q, %v; want a username_invalid error", tt.name, ukey, err)
		}
	}
}

func TestUsernameKey(t *testing.T) {
	if key, err := wallet.UsernameKey("ＢＯＢ"); err != nil || key != "bob" {
		t.Errorf("UsernameKey(ＢＯＢ) = %q, %v; want bob", key, err)
	}
	// "1דוד" is one script, but a right-to-left name must begin with a
	// right-to-left letter (RFC 5893); AccountKey lets it through.
	for _, name := range []string{"@world", "@World", "@bank", "", "bob smith", "аlice", "1דוד"} {
		if _, err := wallet.UsernameKey(name); wallet.ErrorCode(err) != wallet.EUsernameInvalid {
			t.Errorf("UsernameKey(%q) = %v, want a username_invalid error", name, err)
		}
	}
}

// A signup that mixes scripts is told which ones.
func TestUsernameKeyMixedScripts(t *testing.T) {
	tests := []struct {
		name, message string
	}{
		{"аlice", "Cyrillic and Latin"},
		{"bοb", "Greek and Latin"},
		{"аbοb", "Cyrillic, Greek and Latin"},
		{"tokyo東京", "Han and Latin"},
		{"dאvid", "Hebrew and Latin"},
	}
	for _, tt := range tests {
		_, err := wallet.UsernameKey(tt.name)
		if wallet.ErrorCode(err) != wallet.EUsernameInvalid || !strings.Contains(err.Error(), tt.message) {
			t.Errorf("UsernameKey(%q) = %v; want a username_invalid error naming %s", tt.name, err, tt.message)
		}
	}
}

// No invisible character makes an account of its own: each default
// ignorable code point (UTS #39 removes them from skeletons), put into a
// name, is refused or leaves its key as it was. Into "क्ष" it goes after
// the virama, where PRECIS lets the joiners through.
func TestAccountKeyInvisible(t *testing.T) {
	ignorables := []*unicode.RangeTable{unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Join_Control}
	for _, name := range []struct{ before, after string }{{"al", "ice"}, {"क्", "ष"}, {"", "bob"}, {"bob", ""}} {
		want, err := wallet.AccountKey(name.before + name.after)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range ignorables {
			forEachRune(table, func(r rune) {
				with := name.before + string(r) + name.after
				if got, err := wallet.AccountKey(with); err == nil && got != want {
					t.Errorf("AccountKey(%+q) = %+q; want %+q or an error", with, got, want)
				}
			})
		}
	}
}

// Every code point, alone and between two letters, has a key that is its
// own key, or none.
func TestAccountKeyEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("tries every code point")
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		for _, name := range []string{string(r), "a" + string(r) + "b"} {
			key, err := wallet.AccountKey(name)
			if err != nil {
				continue
			}
			if again, err := wallet.AccountKey(key); err != nil || again != key {
				t.Errorf("AccountKey(%+q) = %+q, but AccountKey(%+q) = %+q, %v", name, key, key, again, err)
			}
		}
	}
}

func forEachRune(table *unicode.RangeTable, f func(rune)) {
	for _, r := range table.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			f(c)
		}
	}
	for _, r := range table.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			f(c)
		}
	}
}

// FuzzAccountKey checks that a key is a key: valid UTF-8, 1 to
// MaxAccountLen bytes, free of the joiners, and its own key; and that
// signup, when it accepts a name, gives it the same key.
func FuzzAccountKey(f *testing.F) {
	for _, name := range []string{
		"alice", "аlice", "ALICE", "ａｌｉｃｅ", "alice\u0307", "émile", "acct-00033",
		"ΑΒΕ", "bοb", "m", "0O1Il", "דוד", "أحمد", "한국어", "東京タワー", "क्\u200dष",
		"ǅ", "ǈ", "ß", "İ", "ﬃ", "@world", "@", "a\u0301\u0301", "ꞓ", "ᴎ", "ς",
	} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		key, err := wallet.AccountKey(name)
		if err != nil {
			if wallet.ErrorCode(err) != wallet.EAccountInvalid {
				t.Fatalf("AccountKey(%+q): %v; want an account_invalid error", name, err)
			}
			if _, uerr := wallet.UsernameKey(name); uerr == nil {
				t.Fatalf("UsernameKey(%+q) accepts what AccountKey refuses: %v", name, err)
			}
			return
		}
		if !utf8.ValidString(key) || key == "" || len(key) > wallet.MaxAccountLen {
			t.Fatalf("AccountKey(%+q) = %+q: not valid UTF-8 of 1 to %d bytes", name, key, wallet.MaxAccountLen)
		}
		if strings.ContainsFunc(key, func(r rune) bool { return unicode.Is(unicode.Join_Control, r) }) {
			t.Fatalf("AccountKey(%+q) = %+q, with a joiner", name, key)
		}
		if again, err := wallet.AccountKey(key); err != nil || again != key {
			t.Fatalf("AccountKey(%+q) = %+q, but AccountKey(%+q) = %+q, %v", name, key, key, again, err)
		}
		if ukey, err := wallet.UsernameKey(name); err == nil && ukey != key {
			t.Fatalf("UsernameKey(%+q) = %+q; AccountKey's is %+q", name, ukey, key)
		}
	})
}

// TestASCIIKeysCompose checks AccountKey's fast path for printable ASCII
// names against the full path, on every name of one, two and three bytes
// and on longer ones: the same key, or the same error code.
func TestASCIIKeysCompose(t *testing.T) {
	var names []string
	for a := byte(' '); a <= '~'; a++ {
		names = append(names, string(a))
		for b := byte(' '); b <= '~'; b++ {
			names = append(names, string([]byte{a, b}))
		}
	}
	for _, c := range "aAmM01lI|@-._~" {
		for _, n := range names[:len(names)/3] {
			names = append(names, n+string(c))
		}
	}
	names = append(names, "acct-00033", "Modern_Times", "o0O1lI", strings.Repeat("m", 32), strings.Repeat("m", 33), strings.Repeat("a", 64), strings.Repeat("a", 65))
	for _, name := range names {
		fast, errFast := wallet.AccountKey(name)
		full, errFull := wallet.AccountKeyFull(name)
		if fast != full || wallet.ErrorCode(errFast) != wallet.ErrorCode(errFull) || (errFast == nil) != (errFull == nil) {
			t.Errorf("AccountKey(%q) = %q, %v; the full path gives %q, %v", name, fast, errFast, full, errFull)
		}
	}
}

func BenchmarkAccountKey(b *testing.B) {
	for _, name := range []string{"acct-00033", "Ａｌｉｃｅ", "émile"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				wallet.AccountKey(name)
			}
		})
		b.Run(name+"/full", func(b *testing.B) {
			for b.Loop() {
				wallet.AccountKeyFull(name)
			}
		})
	}
}
