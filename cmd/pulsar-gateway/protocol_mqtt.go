package main

import (
	"context"
	"fmt"
	"net"

	"github.com/pulsar-gateway/pulsar-gateway/config"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/handlers/ws"
	"github.com/pulsar-gateway/pulsar-gateway/mqtt"
)

// The MQTT handler: mochi on the bridge (package mqtt). It is an io.Closer,
// closed after its connections drained.
func init() {
	protocolFactories["mqtt"] = func(d protocolDeps) (handlers.ConnHandler, error) {
		c := d.Config.MQTT
		auth, err := mqtt.LoadAuth(d.Config.PasswordFile("mqtt"), c.ACLFile, c.AllowAnonymous, c.UseIdentityAsUsername, d.tokens())
		if err != nil {
			return nil, err
		}
		auth = auth.WithRules(d.Authz)
		s, err := mqtt.New(context.Background(), mqtt.Options{
			Backend:   d.Backend,
			Logger:    d.Logger,
			Metrics:   d.Flow,
			Namespace: d.Config.Tenant + "/" + d.Config.Namespace,
			Auth:      auth,
		})
		if err != nil {
			return nil, err
		}
		d.Sampler.Add("mqtt_sessions", s.SampleSessions, mqtt.SessionFamilies...)
		return s, nil
	}
	extraListeners["mqtt"] = bindMQTTWebSockets
}

// mqttWebSocketPath and the subprotocols are what MQTT clients use: the
// path is EMQX's and HiveMQ's, in MQTT.js's and paho's examples; "mqtt" is
// the standard's [MQTT-6.0.0-3] and "mqttv3.1" the MQTT 3.1 clients' name,
// both of which Mosquitto accepts.
const mqttWebSocketPath = "/mqtt"

var mqttSubprotocols = []string{"mqtt", "mqttv3.1"}

// bindMQTTWebSockets binds mqtt.ws_addr and mqtt.wss_addr, served by the
// MQTT listener's server: the same handler (so sessions and logins), and
// the same connection limit, drain and connection metrics
// (protocol="mqtt").
func bindMQTTWebSockets(g *gateway, pl *protocolListener) error {
	handler := ws.Handler(pl.handler, ws.Options{
		Path:         mqttWebSocketPath,
		Subprotocols: mqttSubprotocols,
		Logger:       g.log.Named("mqtt.ws"),
	})
	for _, l := range []struct {
		name string
		lc   config.Listener
	}{{"mqtt.ws", g.cfg.MQTT.WS()}, {"mqtt.wss", g.cfg.MQTT.WSS()}} {
		if !l.lc.Enabled {
			continue
		}
		tlsConf, err := l.lc.TLS.Load()
		if err != nil {
			return fmt.Errorf("%s_tls: %w", l.name, err)
		}
		// TLS is the server's, per connection, as on the TCP listener.
		ln, err := net.Listen("tcp", l.lc.Addr)
		if err != nil {
			return fmt.Errorf("%s_addr %q: %w", l.name, l.lc.Addr, err)
		}
		pl.extra = append(pl.extra, &extraListener{name: l.name, ln: ln, via: handlers.Listener{TLS: tlsConf, Handler: handler}})
	}
	return nil
}
