package wallet_test

import (
	"encoding/json"
	"testing"

	"github.com/wallet/wallet"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"0.5", "0.50", false},
		{"0.50", "0.50", false},
		{"1e2", "100.00", false},
		{"1.10", "1.10", false},
		{"1.100", "1.10", false}, // more digits, not more precision
		{"-1", "-1.00", false},
		{"1000000000.00", "1000000000.00", false},
		{"0.001", "", true},
		{"0.005", "", true},
		{"abc", "", true},
		{"", "", true},
		{"1,5", "", true},
		{"NaN", "", true},
		{"Infinity", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := wallet.ParseMoney(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseMoney(%q) = %s, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMoney(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseMoney(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestMoneyArithmeticIsExact(t *testing.T) {
	// Ten cents added ten times is exactly one dollar, which it is not in
	// floating point.
	var sum wallet.Money
	for i := 0; i < 10; i++ {
		sum = sum.Add(wallet.MustParseMoney("0.10"))
	}
	if !sum.Equal(wallet.MustParseMoney("1")) {
		t.Errorf("sum = %s, want 1.00", sum)
	}
	if got := sum.Sub(wallet.Cents(150)).String(); got != "-0.50" {
		t.Errorf("1.00 - 1.50 = %s, want -0.50", got)
	}
}

func TestMoneyJSON(t *testing.T) {
	b, err := json.Marshal(wallet.MustParseMoney("0.5"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"0.50"` {
		t.Errorf("Marshal = %s, want \"0.50\"", b)
	}
	for _, in := range []string{`"0.5"`, `0.5`, `"0.50"`} {
		var m wallet.Money
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatalf("Unmarshal(%s): %v", in, err)
		}
		if m.String() != "0.50" {
			t.Errorf("Unmarshal(%s) = %s, want 0.50", in, m)
		}
	}
	for _, in := range []string{`"0.001"`, `true`, `{}`, `"x"`} {
		var m wallet.Money
		if err := json.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("Unmarshal(%s) = %s, want an error", in, m)
		}
	}
}

// Regression: rescaling to a huge exponent took seconds of CPU.
func TestParseMoneyBoundsTheExponent(t *testing.T) {
	for _, s := range []string{"1e-30000000", "1e30000000", "1e31", "1e-31"} {
		if m, err := wallet.ParseMoney(s); err == nil {
			t.Errorf("ParseMoney(%q) = %s, want an error", s, m)
		}
	}
}

func TestMoneyCents(t *testing.T) {
	for _, c := range []int64{0, 1, 5, 50, 100, 123456, -5, -150, 1 << 40} {
		m := wallet.Cents(c)
		if got := m.Cents(); got != c {
			t.Errorf("Cents(%d).Cents() = %d", c, got)
		}
		back, err := wallet.ParseMoney(m.String())
		if err != nil || back.Cents() != c {
			t.Errorf("ParseMoney(%q) = %v, %v; want %d cents", m, back, err, c)
		}
	}
}
