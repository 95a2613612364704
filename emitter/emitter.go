// Package emitter holds the write side of the wallet: goka emitters that
// store accepted requests in the request logs, wallet.transfer_request and
// wallet.signup_request, and report when Kafka has acknowledged them.
// These two logs are all the edge writes: only processors write
// instructions and tables.
package emitter

import (
	"context"
	"fmt"

	"github.com/lovoo/goka"
)

// send emits value under key and returns once Kafka has acknowledged it,
// or with an error when it did not before ctx was done. After an error the
// message may or may not have been stored: the client retries with the
// same request ID, and the processors absorb the duplicate.
func send(ctx context.Context, e *goka.Emitter, key string, value any) error {
	promise, err := e.Emit(key, value)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	promise.Then(func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("not acknowledged: %w", ctx.Err())
	}
}
