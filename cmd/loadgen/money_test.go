package main

import (
	"math"
	"testing"
)

func TestFormatCents(t *testing.T) {
	for _, tc := range []struct {
		cents int64
		want  string
	}{
		{0, "0.00"}, {5, "0.05"}, {50, "0.50"}, {100, "1.00"}, {123456, "1234.56"},
		{-5, "-0.05"}, {-150, "-1.50"}, {math.MinInt64, "-92233720368547758.08"},
	} {
		if got := formatCents(tc.cents); got != tc.want {
			t.Errorf("formatCents(%d) = %q, want %q", tc.cents, got, tc.want)
		}
		if tc.cents > 0 {
			if got := string(appendCents(nil, tc.cents)); got != tc.want {
				t.Errorf("appendCents(%d) = %q, want %q", tc.cents, got, tc.want)
			}
		}
	}
}

func TestParseCents(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0.00", 0}, {"0.5", 50}, {"0.05", 5}, {"12", 1200}, {"-1.50", -150}, {"1234.56", 123456},
	} {
		got, err := parseCents(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseCents(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-", ".5", "1.", "1.234", "+1.00", "1e2", "abc", "1.-5", "--1", "99999999999999999999.00"} {
		if got, err := parseCents(bad); err == nil {
			t.Errorf("parseCents(%q) = %d, want an error", bad, got)
		}
	}
}

func TestCentsRoundTrip(t *testing.T) {
	for _, c := range []int64{0, 1, 9, 10, 99, 100, 101, -1, -99, -100, 1 << 40} {
		got, err := parseCents(formatCents(c))
		if err != nil || got != c {
			t.Errorf("round trip of %d: %d, %v", c, got, err)
		}
	}
}
