package broker

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
func secured(users map[kafka.Role]string) ([]kfake.Opt, []kgo.Opt, error) {
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
	self := kafka.Security{Mechanism: kafka.SCRAMSHA512, Username: PrincipalPrefix + "broker", Password: rand.Text()}
	opts = append(opts, kfake.Superuser(self.Mechanism, self.Username, self.Password))
	client, err := self.KgoOpts()
	if err != nil {
		return nil, nil, err
	}
	return opts, client, nil
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
	pattern := kmsg.ACLResourcePatternTypeLiteral
	if a.Prefixed {
		pattern = kmsg.ACLResourcePatternTypePrefixed
	}
	return kfake.ACL{Resource: resource, Name: a.Name, Pattern: pattern, Operation: op, Allow: true}, nil
}

// Credentials returns a password for each role, kept in dir as
// <role>.password (mode 0600): read if there, created at random if not,
// so that a secured broker keeps its principals' passwords across
// restarts and each command can read its own with -kafka-password-file.
func Credentials(dir string) (map[kafka.Role]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: credentials directory: %w", err)
	}
	users := map[kafka.Role]string{}
	for _, r := range kafka.Roles {
		name := filepath.Join(dir, string(r)+".password")
		p, err := kafka.ReadPassword(name)
		if errors.Is(err, fs.ErrNotExist) {
			p = rand.Text()
			if err := os.WriteFile(name, []byte(p+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("broker: write password of %s: %w", r, err)
			}
		} else if err != nil {
			return nil, err
		}
		users[r] = p
	}
	return users, nil
}
