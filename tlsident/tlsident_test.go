package tlsident

import "testing"

// The examples of Kafka's documentation (security_authz_ssl) and KIP-371.
func TestRules(t *testing.T) {
	for _, c := range []struct{ rules, subject, want string }{
		{`RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT`, "CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown", "serviceuser"},
		{`RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,DEFAULT`,
			"CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown", "adminuser@admin"},
		{`RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/U`, "CN=a,OU=b,O=c,L=d,ST=e,C=f", "A@B"},
		{`RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L`, "cn=Kafka1.example,ou=x", "kafka1.example"},
		{`RULE:^CN=([^,]*).*$/$1\/apps/`, "CN=svc,O=x", "svc/apps"},
		{`RULE:^CN=(.*)$/$1x/, DEFAULT`, "CN=svc", "svcx"},
		{`RULE:^OU=nomatch$/$1/,DEFAULT`, "CN=svc,O=x", "CN=svc,O=x"},
		{``, "CN=svc,O=x", "CN=svc,O=x"},
	} {
		rs, err := ParseRules(c.rules)
		if err != nil {
			t.Fatalf("%s: %v", c.rules, err)
		}
		if got, err := rs.Map(c.subject); err != nil || got != c.want {
			t.Errorf("%s on %s: %q %v, want %q", c.rules, c.subject, got, err, c.want)
		}
	}
	rs, _ := ParseRules(`RULE:^CN=(.*),OU=apps$/$1/`)
	if got, err := rs.Map("CN=svc,OU=other"); err == nil {
		t.Errorf("no rule applies, yet %q", got)
	}
	for _, bad := range []string{"RULE:^CN=(.*$/$1/", "RULE:x", "DEFAULTS", "RULE:a/b/Q"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzRules(f *testing.F) {
	f.Add(`RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L,DEFAULT`, "CN=a,OU=b")
	f.Fuzz(func(t *testing.T, rules, subject string) {
		if rs, err := ParseRules(rules); err == nil {
			rs.Map(subject)
		}
	})
}
