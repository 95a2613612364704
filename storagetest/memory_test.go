package storagetest_test

import (
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/wallet/wallet/storagetest"
)

func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, dir string) storage.Storage {
		return storage.NewMemory()
	}, storagetest.Options{InclusiveLimit: true})
}
