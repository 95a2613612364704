package main

import (
	"fmt"
	"strconv"
	"strings"
)

// formatCents formats an amount of cents as "%d.%02d", with a leading
// minus sign when negative: 5 is "0.05", -150 is "-1.50".
func formatCents(c int64) string {
	sign, u := "", uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-c) // two's complement: also right for MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// appendCents appends formatCents(c) for a positive c without allocating.
func appendCents(dst []byte, c int64) []byte {
	dst = strconv.AppendInt(dst, c/100, 10)
	dst = append(dst, '.', byte('0'+c%100/10), byte('0'+c%10))
	return dst
}

// parseCents parses a decimal amount with at most two places, as the view
// writes balances ("-0.50", "12.00"), into cents, without floating point.
func parseCents(s string) (int64, error) {
	t, neg := s, false
	if strings.HasPrefix(t, "-") {
		t, neg = t[1:], true
	}
	whole, frac, dot := strings.Cut(t, ".")
	if whole == "" || (dot && (len(frac) == 0 || len(frac) > 2)) || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("amount %q is not a decimal with at most two places", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseUint(whole, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	f, err := strconv.ParseUint(frac, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if w > (1<<63-1-f)/100 {
		return 0, fmt.Errorf("amount %q is out of range", s)
	}
	c := int64(w*100 + f)
	if neg {
		c = -c
	}
	return c, nil
}
