package processors

// SignupCount and TransferCount read the counters wallet_signups_total and
// wallet_transfers_total, for the tests.
func SignupCount(outcome, decidedBy string) int64 {
	return count(signups.WithLabelValues(outcome, decidedBy))
}

func TransferCount(status, reason string) int64 {
	return count(transfers.WithLabelValues(status, reason))
}

// FinalOutcomes are the label values of wallet_transfers_total.
var FinalOutcomes = finalOutcomes
