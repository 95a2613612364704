// Command acls prints the kafka-acls.sh commands that give each of the
// wallet's principals (admin, api, processor, view) the ACLs of its role,
// derived from the topology (kafka.ACLs), for an admin to run.
package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/wallet/wallet/kafka"
	"github.com/wallet/wallet/run"
)

func main() {
	var bootstrap, commandConfig, prefix string
	run.Main("acls", func(fs *flag.FlagSet) {
		fs.StringVar(&bootstrap, "bootstrap-server", "localhost:9092", "Kafka address for kafka-acls.sh")
		fs.StringVar(&commandConfig, "command-config", "admin.properties", "client properties of a principal allowed to create ACLs")
		fs.StringVar(&prefix, "prefix", "wallet-", "principals are User:<prefix><role>")
	}, func(context.Context) error {
		for _, cmd := range kafka.ACLCommands(bootstrap, commandConfig, prefix) {
			fmt.Println(cmd)
		}
		return nil
	})
}
