package processors

// SignupCount and TransferCount read the counters wallet_signups_total and
// wallet_transfers_total, for the tests.
func SignupCount(outcome string) int64 { return count(signups.WithLabelValues(outcome)) }

func TransferCount(status, reason string) int64 {
	return count(transfers.WithLabelValues(status, reason))
}
