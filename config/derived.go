package config

import "net"

// Advertised is the address Kafka clients are told to use: AdvertisedAddr
// when set, else the listen host (127.0.0.1 for a wildcard such as ":9092"
// or "0.0.0.0:9092") with the bound port. Pass the listener's actual address
// so that port 0 resolves to the port picked; nil uses the configured port.
func (k Kafka) Advertised(bound net.Addr) string {
	if k.AdvertisedAddr != "" {
		return k.AdvertisedAddr
	}
	host, port, err := net.SplitHostPort(k.Addr)
	if err != nil {
		return k.Addr // Validate rejects this before anyone asks
	}
	if bound != nil {
		if _, p, err := net.SplitHostPort(bound.String()); err == nil {
			port = p
		}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Redacted is the effective configuration as key -> value, secrets
// replaced, for logging.
func (c *Config) Redacted() map[string]string {
	out := make(map[string]string, len(Settings()))
	for _, s := range Settings() {
		out[s.Key] = s.Get(c)
	}
	return out
}
