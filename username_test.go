package wallet_test

import (
	"strings"
	"testing"

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
		{"e\u0301mile", "émile"}, // NFC: a combining accent composes
		{"émile", "émile"},
		{"acct-00033", "acct-00033"},
		{"Straße", "straße"},
		{"@world", wallet.World},
		{"@World", wallet.World},
		{"@ｗｏｒｌｄ", wallet.World},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("é", 32), strings.Repeat("é", 32)}, // 64 bytes after NFC

		{"", ""},
		{"bob smith", ""}, // spaces are disallowed
		{" bob", ""},      // so are surrounding ones: the API trims first
		{"a\x00b", ""},    // control characters
		{"\uFFFD", ""},    // what encoding/json makes of invalid UTF-8
		{"\xff", ""},      // invalid UTF-8
		{"@", ""},         // reserved
		{"@bank", ""},     // reserved
		{"@world2", ""},   // reserved
		{strings.Repeat("a", 65), ""},
		{strings.Repeat("e\u0301", 33), ""}, // 33 two-byte runes: 66 bytes after NFC
		{strings.Repeat("Ａ", 65), ""},       // 65 bytes after width mapping
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
	}
}

func TestUsernameKey(t *testing.T) {
	if key, err := wallet.UsernameKey("ＢＯＢ"); err != nil || key != "bob" {
		t.Errorf("UsernameKey(ＢＯＢ) = %q, %v; want bob", key, err)
	}
	for _, name := range []string{"@world", "@World", "@bank", "", "bob smith"} {
		if _, err := wallet.UsernameKey(name); wallet.ErrorCode(err) != wallet.EUsernameInvalid {
			t.Errorf("UsernameKey(%q) = %v, want a username_invalid error", name, err)
		}
	}
}
