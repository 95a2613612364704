package wallet

// AccountKeyFull is AccountKey without its fast path for ASCII names.
func AccountKeyFull(name string) (string, error) { return accountKey(name, false) }
