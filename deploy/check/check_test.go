// Package check holds the Kubernetes examples in deploy/ to what Kubernetes
// and the gateway accept, without a cluster: every object decodes strictly
// into the k8s.io/api type of its kind (an unknown or misplaced field is an
// error, as kubectl's client-side validation makes it), and every gateway
// container's environment and arguments load through the gateway's own
// config (an unknown setting is an error there too). It is a module of its
// own so the gateway does not carry the Kubernetes API types.
package check

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/pulsar-gateway/pulsar-gateway/config"
)

type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
}

// load decodes every document of a manifest strictly, by its kind.
func load(t *testing.T, path string) objects {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var o objects
	for i, doc := range bytes.Split(raw, []byte("\n---")) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		if head.Kind == "" {
			continue
		}
		var into any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			o.deployments, into = append(o.deployments, d), d
		case "v1 Service":
			s := &corev1.Service{}
			o.services, into = append(o.services, s), s
		case "policy/v1 PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			o.pdbs, into = append(o.pdbs, p), p
		default:
			t.Fatalf("%s document %d: %s %s is not checked here; add it", path, i, head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s document %d (%s): %v", path, i, head.Kind, err)
		}
	}
	return o
}

// gateway loads a gateway container's settings as the binary would.
func gateway(t *testing.T, c *corev1.Container) *config.Config {
	t.Helper()
	known := map[string]bool{config.EnvPrefix + "CONFIG": true}
	for _, s := range config.Settings() {
		known[s.Env] = true
	}
	env := map[string]string{}
	for _, e := range c.Env {
		// The gateway reads only the variables it knows: a misspelt one
		// would be ignored there, so it is an error here.
		if strings.HasPrefix(e.Name, config.EnvPrefix) && !known[e.Name] {
			t.Errorf("container %s: %s is no setting of the gateway", c.Name, e.Name)
		}
		if e.ValueFrom != nil {
			env[e.Name] = "from-a-secret"
			continue
		}
		env[e.Name] = e.Value
	}
	// The image's entrypoint passes --data-dir /data (Dockerfile).
	args := append([]string{"--data-dir", "/data"}, c.Args...)
	cfg, err := config.Load(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("container %s: the gateway refuses its settings: %v", c.Name, err)
	}
	if cfg.Backend != config.BackendPulsar {
		t.Errorf("container %s: backend %q; many gateways need the pulsar backend", c.Name, cfg.Backend)
	}
	return cfg
}

func port(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// probesAndPorts checks that the container exposes the listeners cfg opens
// and probes /healthz and /readyz on the HTTP listener.
func probesAndPorts(t *testing.T, c *corev1.Container, cfg *config.Config, pod *corev1.PodSpec) {
	t.Helper()
	named := map[string]int32{}
	for _, p := range c.Ports {
		named[p.Name] = p.ContainerPort
	}
	httpPort := port(t, cfg.HTTP.Addr)
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("container %s: no HTTP %s probe", c.Name, what)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("container %s: %s probe on %s, want %s", c.Name, what, p.HTTPGet.Path, path)
		}
		got := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.StrVal != "" {
			got = named[p.HTTPGet.Port.StrVal]
		}
		if got != httpPort {
			t.Errorf("container %s: %s probe on port %v, the gateway serves HTTP on %d", c.Name, what, p.HTTPGet.Port.String(), httpPort)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/readyz")
	}
	grace := int64(30)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if drain := int64(cfg.Shutdown.DrainTimeout.Seconds()); grace <= drain {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than the gateway's drain (%ds): it is killed mid-drain", grace, drain)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.MountPath == cfg.DataDir
	}
	if !mounted {
		t.Errorf("container %s: nothing mounted at the data dir %s (the root filesystem is read-only)", c.Name, cfg.DataDir)
	}
}

func TestSidecar(t *testing.T) {
	o := load(t, filepath.Join("..", "sidecar.yaml"))
	if len(o.deployments) != 1 {
		t.Fatalf("%d deployments, want 1", len(o.deployments))
	}
	pod := &o.deployments[0].Spec.Template.Spec
	var gw *corev1.Container
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Name == "pulsar-gateway" {
			gw = &pod.InitContainers[i]
		}
	}
	if gw == nil {
		t.Fatal("no init container named pulsar-gateway: a native sidecar is an init container")
	}
	if gw.RestartPolicy == nil || *gw.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Fatal("the gateway init container has no restartPolicy: Always, so it is not a sidecar: the app would wait for it to exit")
	}
	if gw.StartupProbe == nil {
		t.Error("no startupProbe: the app starts before its gateway is ready")
	}
	cfg := gateway(t, gw)
	probesAndPorts(t, gw, cfg, pod)
	if host, _, _ := net.SplitHostPort(cfg.Kafka.AdvertisedAddr); host != "127.0.0.1" && host != "localhost" {
		t.Errorf("a sidecar advertises %s to Kafka clients; its app reaches it on loopback", cfg.Kafka.AdvertisedAddr)
	}
	for _, c := range pod.Containers {
		for _, e := range c.Env {
			if strings.Contains(e.Value, "127.0.0.1:") {
				p := port(t, strings.TrimSuffix(e.Value[strings.Index(e.Value, "127.0.0.1:"):], "/"))
				if p != port(t, cfg.Kafka.Addr) && p != port(t, cfg.MQTT.Addr) && p != port(t, cfg.AMQP.Addr) {
					t.Errorf("app %s: %s=%s is no listener of the gateway", c.Name, e.Name, e.Value)
				}
			}
		}
	}
}

func TestReplicas(t *testing.T) {
	o := load(t, filepath.Join("..", "replicas.yaml"))
	if len(o.deployments) != 1 || len(o.services) != 1 {
		t.Fatalf("%d deployments and %d services, want 1 and 1", len(o.deployments), len(o.services))
	}
	d, svc := o.deployments[0], o.services[0]
	pod := &d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the gateway alone", len(pod.Containers))
	}
	gw := &pod.Containers[0]
	cfg := gateway(t, gw)
	probesAndPorts(t, gw, cfg, pod)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Error("fewer than two replicas")
	}

	labels := d.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%s, the pods are labelled %v", k, v, labels)
		}
	}
	for _, p := range o.pdbs {
		for k, v := range p.Spec.Selector.MatchLabels {
			if labels[k] != v {
				t.Errorf("the PodDisruptionBudget selects %s=%s, the pods are labelled %v", k, v, labels)
			}
		}
	}
	containerPorts := map[string]int32{}
	for _, p := range gw.Ports {
		containerPorts[p.Name] = p.ContainerPort
	}
	listeners := map[string]string{"kafka": cfg.Kafka.Addr, "mqtt": cfg.MQTT.Addr, "amqp": cfg.AMQP.Addr,
		"schema-registry": cfg.SchemaRegistry.Addr}
	servicePort := map[string]int32{}
	for _, sp := range svc.Spec.Ports {
		servicePort[sp.Name] = sp.Port
		target := sp.TargetPort.IntVal
		if sp.TargetPort.StrVal != "" {
			target = containerPorts[sp.TargetPort.StrVal]
		}
		addr, ok := listeners[sp.Name]
		if !ok {
			t.Errorf("Service port %s: no such gateway listener", sp.Name)
			continue
		}
		if target != port(t, addr) {
			t.Errorf("Service port %s targets %d, the gateway listens on %s", sp.Name, target, addr)
		}
	}
	// Kafka clients connect to the advertised address after bootstrap: it
	// must be the Service, or they would pin one replica (or none).
	host, p, err := net.SplitHostPort(cfg.Kafka.AdvertisedAddr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(host, svc.Name+".") || p != fmt.Sprint(servicePort["kafka"]) {
		t.Errorf("Kafka advertised address %s is not the Service %s on its kafka port %d", cfg.Kafka.AdvertisedAddr, svc.Name, servicePort["kafka"])
	}
}
