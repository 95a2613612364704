package wallet_test

import (
	"encoding/json"
	"math"
	"math/big"
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
		// The syntax is shopspring/decimal's, which ParseMoney used
		// before Money became an int64 of cents; kept as it was.
		{"0.1", "0.10", false},
		{"0.10", "0.10", false},
		{"+1", "1.00", false},
		{"+.5", "0.50", false},
		{".5", "0.50", false},
		{"1.", "1.00", false},
		{"-.5", "-0.50", false},
		{".-5", "-0.05", false}, // the point dropped, then "-5" read: -5e-2
		{"-0", "0.00", false},   // no negative zero
		{"-0.00", "0.00", false},
		{"+0", "0.00", false},
		{"1E2", "100.00", false},
		{"1e+2", "100.00", false},
		{"1.5e1", "15.00", false},
		{"100e-4", "0.01", false},
		{"-1e-2", "-0.01", false},
		{"0e-30", "0.00", false},
		{"1e16", "10000000000000000.00", false},
		{"00000000000000000000000000000000000001", "1.00", false},
		{"1.000000000000000000000000000000", "1.00", false}, // exponent -30
		{"92233720368547758.07", "92233720368547758.07", false},
		{"-92233720368547758.08", "-92233720368547758.08", false},
		{"9223372036854775807e-2", "92233720368547758.07", false},
		{"123e-3", "", true},
		{"-0.001", "", true},
		{"1..2", "", true},
		{".", "", true},
		{"-", "", true},
		{"+", "", true},
		{"-.", "", true},
		{"--1", "", true},
		{"1-", "", true},
		{"5.-", "", true},
		{"1e", "", true},
		{"e1", "", true},
		{"1e2.5", "", true},
		{"1e2e3", "", true},
		{"1e2147483648", "", true},
		{" 1", "", true},
		{"1 ", "", true},
		{"1_000", "", true},
		{"0x10", "", true},
		{"-Infinity", "", true},
		{"٣", "", true},
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

// TestParseMoneyErrors checks the error for each way an amount can be
// refused; the API reports the message.
func TestParseMoneyErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", `amount "abc" is not a decimal number`},
		{"", `amount "" is not a decimal number`},
		{"1e", `amount "1e" is not a decimal number`},
		{"1e-2147483649", `amount "1e-2147483649" is not a decimal number`},
		{"0.001", `amount "0.001" has more than two decimal places`},
		{"1e-3", `amount "1e-3" has more than two decimal places`},
		{"1e31", `amount "1e31" is out of range`},
		{"0e31", `amount "0e31" is out of range`}, // the exponent as written, whatever the value
		{"1.0000000000000000000000000000000", `amount "1.0000000000000000000000000000000" is out of range`},
		// Beyond Money's range, int64 cents: refused, where the decimal
		// implementation accepted it (and CheckMaxAmount then refused it).
		{"92233720368547758.08", `amount "92233720368547758.08" is out of range`},
		{"-92233720368547758.09", `amount "-92233720368547758.09" is out of range`},
		{"1e17", `amount "1e17" is out of range`},
		{"-1e30", `amount "-1e30" is out of range`},
		// Too many places wins over too large, as before.
		{"100000000000000000.001", `amount "100000000000000000.001" has more than two decimal places`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := wallet.ParseMoney(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseMoney(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// Money is int64 cents: Add, Sub and Neg saturate at its range instead of
// wrapping to the opposite sign.
func TestMoneySaturates(t *testing.T) {
	largest, smallest := wallet.Cents(math.MaxInt64), wallet.Cents(math.MinInt64)
	one := wallet.Cents(1)
	tests := []struct {
		name      string
		got, want wallet.Money
	}{
		{"largest + 0.01", largest.Add(one), largest},
		{"largest + largest", largest.Add(largest), largest},
		{"smallest - 0.01", smallest.Sub(one), smallest},
		{"smallest + smallest", smallest.Add(smallest), smallest},
		{"0.00 - smallest", wallet.Cents(0).Sub(smallest), largest},
		{"largest - smallest", largest.Sub(smallest), largest},
		{"smallest - largest", smallest.Sub(largest), smallest},
		{"-smallest", smallest.Neg(), largest},
		{"-largest", largest.Neg(), wallet.Cents(-math.MaxInt64)},
		{"largest - 0.01", largest.Sub(one), wallet.Cents(math.MaxInt64 - 1)},
		{"largest + smallest", largest.Add(smallest), wallet.Cents(-1)},
		{"smallest + 0.01", smallest.Add(one), wallet.Cents(math.MinInt64 + 1)},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if largest.String() != "92233720368547758.07" || smallest.String() != "-92233720368547758.08" {
		t.Errorf("largest %s, smallest %s", largest, smallest)
	}
}

func TestMoneyCompare(t *testing.T) {
	a, b := wallet.MustParseMoney("-0.50"), wallet.MustParseMoney("0.1")
	if a.Cmp(b) != -1 || b.Cmp(a) != 1 || a.Cmp(a) != 0 || !a.LessThan(b) || a.GreaterThan(b) || !b.GreaterThan(a) {
		t.Errorf("-0.50 and 0.10 compare wrongly")
	}
	if !a.IsNegative() || b.IsNegative() || a.IsZero() || !wallet.MustParseMoney("-0").IsZero() {
		t.Errorf("IsNegative or IsZero wrong")
	}
	if !b.Equal(wallet.MustParseMoney("0.10")) || !b.Equal(wallet.Cents(10)) || b != wallet.Cents(10) {
		t.Errorf("0.1, 0.10 and 10 cents differ")
	}
	if got := b.Neg(); !got.Equal(wallet.Cents(-10)) {
		t.Errorf("-(0.10) = %s", got)
	}
}

// TestMoneyJSONReadsWhatJSONReads: amounts are read without
// encoding/json when they need no unescaping, and with it otherwise; the
// result is the same.
func TestMoneyJSONReadsWhatJSONReads(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"12.34"`, "12.34"},
		{`12.34`, "12.34"},
		{`"-0.5"`, "-0.50"},
		{`-0`, "0.00"},
		{`1e2`, "100.00"},
		{`1E+2`, "100.00"},
		{`"1e2"`, "100.00"},
		{`"+1"`, "1.00"}, // a string with ParseMoney's syntax...
		{`".5"`, "0.50"},
		{`"\u0030.50"`, "0.50"}, // ...escaped too
		{`"0.5\u0030"`, "0.50"},
		{`"92233720368547758.07"`, "92233720368547758.07"},
		{"-92233720368547758.08", "-92233720368547758.08"},
	}
	for _, tt := range tests {
		var m wallet.Money
		if err := json.Unmarshal([]byte(tt.in), &m); err != nil || m.String() != tt.want {
			t.Errorf("Unmarshal(%s) = %s, %v; want %s", tt.in, m, err, tt.want)
		}
	}
	for _, in := range []string{`null`, `""`, `" 1"`, `"1 "`, `+1`, `.5`, `01`, `1.`, `"1e31"`, `"1e17"`, `1e17`,
		`"92233720368547758.08"`, `"0.001"`, `0.001`, `"\u0031\u0030x"`, `[]`, "\"1\t\""} {
		// A field, not a pointer: encoding/json sets a nil pointer for
		// null without asking Money.
		var v struct{ A wallet.Money }
		if err := json.Unmarshal([]byte(`{"a":`+in+`}`), &v); err == nil {
			t.Errorf("Unmarshal(%s) = %s, want an error", in, v.A)
		}
	}
}

func TestAmountText(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{`"0.50"`, "0.50", ""},
		{`0.5`, "0.5", ""},
		{` "0.50" `, "0.50", ""},
		{" 1e2\n", "1e2", ""},
		{"\t1e2 ", "1e2", ""},
		{` 7 `, "7", ""},
		{`"\u0031"`, "1", ""},
		{`" 1 x"`, " 1 x", ""},
		{`"é"`, "é", ""},
		{`null`, "", ""},
		{`+1`, "", "amount must be a JSON string or number"},
		{`true`, "", "amount must be a JSON string or number"},
		{`{}`, "", "amount must be a JSON string or number"},
		{`"1" "2"`, "", "invalid character '\"' after top-level value"},
		{`"1`, "", "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		got, err := wallet.AmountText([]byte(tt.in))
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if got != tt.want || errText != tt.err {
			t.Errorf("AmountText(%s) = %q, %q; want %q, %q", tt.in, got, errText, tt.want, tt.err)
		}
	}
}

// The accountant and the codecs handle an amount per message: parsing,
// formatting and arithmetic allocate nothing but their results.
func TestMoneyAllocations(t *testing.T) {
	raw, text := []byte(`"1234567.89"`), []byte("-1234.56")
	a, b := wallet.Cents(123456789), wallet.Cents(50)
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"UnmarshalJSON", 0, func() {
			var m wallet.Money
			if err := m.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
		}},
		{"ParseMoney(string(bytes))", 0, func() {
			if _, err := wallet.ParseMoney(string(text)); err != nil {
				t.Fatal(err)
			}
		}},
		{"arithmetic", 0, func() {
			if a.Add(b).Sub(b).Neg().Cmp(a) > 0 {
				t.Fatal("wrong")
			}
		}},
		{"String", 1, func() { _ = a.String() }},
		{"MarshalJSON", 1, func() { _, _ = a.MarshalJSON() }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}

func TestMoneyCents(t *testing.T) {
	for _, c := range []int64{0, 1, 5, 50, 100, 123456, -5, -150, 1 << 40, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
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

// FuzzParseMoney checks what ParseMoney accepts against math/big: the
// same value, formatted with two places, read back unchanged, and read
// the same from a JSON string.
//
//	go test -run '^$' -fuzz '^FuzzParseMoney$' -fuzztime 20s .
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"0.50", "1e2", ".5", "-0", "1.100", "0.001", "92233720368547758.07", "-92233720368547758.08", "1e31", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := wallet.ParseMoney(s)
		var fromJSON wallet.Money
		raw, _ := json.Marshal(s)
		jerr := json.Unmarshal(raw, &fromJSON)
		if (err == nil) != (jerr == nil) || !m.Equal(fromJSON) {
			t.Fatalf("ParseMoney(%q) = %s, %v; from JSON %s: %s, %v", s, m, err, raw, fromJSON, jerr)
		}
		if err != nil {
			return
		}
		if r, ok := new(big.Rat).SetString(s); ok && r.Cmp(big.NewRat(m.Cents(), 100)) != 0 {
			t.Fatalf("ParseMoney(%q) = %s, but it is %s", s, m, r.FloatString(4))
		}
		back, err := wallet.ParseMoney(m.String())
		if err != nil || !back.Equal(m) {
			t.Fatalf("ParseMoney(%q) = %s, which reads back as %s, %v", s, m, back, err)
		}
	})
}
