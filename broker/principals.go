package broker

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/wallet/wallet/kafka"
)

// PrincipalPrefix names the principals of the roles: wallet-api,
// wallet-processor, and so on.
const PrincipalPrefix = "wallet-"

// secured returns the options that make the broker take SASL
// SCRAM-SHA-512 only, with a principal for each role given a password in
// users and its ACLs (kafka.ACLs) enforced, and the credentials of the
// broker's own superuser, which expires silent group members
// (sessions.go) and holds no role.
func secured(users map[kafka.Role]string) ([]kfake.Opt, kgo.Opt, error) {
	opts := []kfake.Opt{kfake.EnableSASL(), kfake.EnableACLs()}
	for role, password := range users {
		var acls []kfake.ACL
		for _, a := range kafka.ACLs(role) {
			acl, err := kfakeACL(a)
			if err != nil {
				return nil, nil, err
			}
			acls = append(acls, acl)
		}
		opts = append(opts, kfake.User(kafka.SCRAMSHA512, PrincipalPrefix+string(role), password, acls...))
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, fmt.Errorf("broker: superuser password: %w", err)
	}
	self := scram.Auth{User: PrincipalPrefix + "broker", Pass: hex.EncodeToString(secret)}
	opts = append(opts, kfake.Superuser(kafka.SCRAMSHA512, self.User, self.Pass))
	return opts, kgo.SASL(self.AsSha512Mechanism()), nil
}

// kfakeACL turns a role's permission into kfake's seed ACL.
func kfakeACL(a kafka.ACL) (kfake.ACL, error) {
	resource, err := kmsg.ParseACLResourceType(a.Resource)
	if err != nil {
		return kfake.ACL{}, fmt.Errorf("ACL resource %q: %w", a.Resource, err)
	}
	op, err := kmsg.ParseACLOperation(strings.ToLower(a.Operation))
	if err != nil {
		return kfake.ACL{}, fmt.Errorf("ACL operation %q: %w", a.Operation, err)
	}
	return kfake.ACL{Resource: resource, Name: a.Name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}, nil
}
