// Command bench turns the JSON lines the load programs under
// integration/*/bench write (integration/benchout) into docs/benchmarks.md
// and PNG charts beside it. scripts/bench.sh runs the loads and then this.
//
// It is a module of its own so that its plotting library (gonum's) stays out
// of the gateway's module and binary.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// record is integration/benchout.Record (kept apart: this module does not
// import the gateway's).
type record struct {
	Group    string  `json:"group"`
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Target   string  `json:"target"`
	Ref      string  `json:"ref"`
	Value    float64 `json:"value"`
	Lower    bool    `json:"lower"`
	Runs     int     `json:"runs"`
	Note     string  `json:"note"`
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

var (
	in       = flag.String("in", "", "JSON lines from the load programs")
	out      = flag.String("out", "docs/benchmarks.md", "the page to write")
	charts   = flag.String("charts", "docs/benchmarks", "folder of the PNG charts (linked from the page relative to it)")
	command  = flag.String("command", "scripts/bench.sh", "the command that made the numbers, for the page")
	elapsed  = flag.Duration("elapsed", 0, "how long the run took, for the page")
	versions listFlag
	refs     listFlag
	notes    listFlag
	missing  listFlag
)

// groups in the page's order, with their headings and what they measure.
var groups = []struct{ name, title, about string }{
	{"kafka", "Kafka: produce and consume throughput",
		"kgo (franz-go) with acks=all and lz4, 1 MiB batches, its default 10 ms linger, to a fresh topic of one partition (or of 8: `x 8 partitions`, kgo's default sticky partitioner); then a fresh consumer reads it all from the start (its start-up counts). " +
			"Every record's value is distinct random letters. `gateway/embedded` is the gateway on its embedded store, compared with `kafka` (Apache Kafka in KRaft mode); " +
			"`gateway/pulsar` is the gateway on Pulsar, compared with `pulsar` (pulsar-client-go straight to the same standalone broker, batching up to 1 MiB / 1 ms, lz4) " +
			"and with `pulsar-java` (the Java client, pulsar-client-original from the broker's own jars, the same batching and lz4, after a JIT warm-up round; it runs right after the Go program, not interleaved with it). " +
			"The gateway runs inside the load program."},
	{"manytopics", "Kafka: many topics",
		"A cluster of many small topics (integration/kafka/bench -mode manytopics): CreateTopics in requests of 100 topics until a Metadata shows them all; one Metadata request of all topics (median of 5); " +
			"one 100 B record to every partition (first produce: the partitions' first writes), then a second one to each, acks=all, one kgo producer; a fresh group of one kgo consumer of all the topics " +
			"(join: from the client's creation to every partition assigned; consume: to every record fetched; commit: its offsets of every partition, in OffsetCommits of 100 topics, as Kafka refuses one of 10,000), then a fresh group of three started at once. " +
			"Milliseconds: lower is faster, and a ratio below 1 is ahead of Kafka. The topics are deleted after each round; the gateway runs inside the load program."},
	{"mqtt", "MQTT: fan-in and fan-out",
		"A minimal MQTT 3.1.1 client (integration/mqtt/bench): N publishers to 1 subscriber (and 1 publisher to 10 subscribers) of one topic, 100 B distinct payloads, QoS 1 publishers keep 100 unacknowledged, QoS 2 ones 64 (the servers' receive maximum); " +
			"messages delivered per second from the first publish to the last delivery. The gateway runs as its own process (`gateway/embedded`), against Mosquitto (Debian's, `persistence false`, `max_inflight_messages 64`)."},
	{"amqp", "AMQP: publish with confirms, consume",
		"amqp091-go against both: persistent 100 B distinct bodies, 256 confirms in flight, consumers with prefetch 1000 acking each delivery; `queue` is one durable queue end to end, " +
			"`fanout10` a fanout exchange to 10 durable queues. The gateway runs inside the load program, against a RabbitMQ node the program starts."},
	{"rocketmq", "RocketMQ: send and consume",
		"rocketmq-client-go/v2 (integration/rocketmq/bench) on a fresh auto-created topic of 4 queues per round: `sync send` is 16 goroutines sharing one producer, each sending one message at a time and waiting for its result (stored); " +
			"`batch send` the same goroutines sending batches of 32; `consume` a fresh clustering push consumer group reading all of the topic from the first offset, from its creation to the last delivery (start-up and rebalance count). " +
			"Bodies of random letters (4096 distinct ones in turn), an untimed warm-up round first. `rocketmq` is Apache RocketMQ (a name server and a broker from Maven Central's jars, integration/rocketmq/rocketmq.sh, its defaults: asynchronous flush)."},
	{"latency", "Latency at a steady rate",
		"One producer at a steady rate (not saturation) with 100 B payloads that carry their send time, one consumer reading as it goes; publish-to-delivery percentiles on one clock, the first tenth of each run not counted. " +
			"Go's timers wake about every millisecond, so the load goes out about ten messages per millisecond. Kafka: acks=all, lz4, 1 ms linger (the Pulsar clients: their 1 ms batching, lz4); MQTT: QoS 1 both ways, the gateway as its own process; AMQP: persistent, confirms. " +
			"References: gateway/embedded against kafka, mosquitto or rabbitmq; gateway/pulsar against pulsar (the Go client, Kafka rows) and pulsar-java " +
			"(one run of the Java client from its producer to its consumer, shown in each protocol's rows: it does not depend on the protocol). " +
			"On Pulsar the MQTT gateway runs as its own process and the AMQP one inside its load program."},
	{"memory", "Idle connections: memory, connect rate, CPU",
		"A fleet of idle MQTT devices (integration/mqtt/bench -idle): connections opened from their own loopback address by 32 dialers, each with keep-alive 60 s (a PINGREQ a minute, spread evenly) and one QoS 1 subscription to a topic of its own, on a fresh server process. " +
			"`KiB/conn`: growth of the server's RSS divided by the connections; `conn/s`: CONNECT and SUBSCRIBE answered a second; `CPU %`: the server's user and system time over 10 s while they idle, in % of one core. " +
			"Then some of them publish a QoS 1 message a second each to their own topic while the rest idle: the server's `CPU %` meanwhile; every message must come back acknowledged and delivered (a note says otherwise)."},
}

func main() {
	flag.Var(&versions, "version", "name=version of a component, for the page (repeat)")
	flag.Var(&notes, "note", "a line for the page's notes (repeat)")
	flag.Var(&missing, "missing", "a scenario not in this run and why (repeat)")
	flag.Var(&refs, "ref", "TARGET=REFERENCE: also show TARGET's ratio to REFERENCE wherever both have a number (repeat)")
	flag.Parse()
	log.SetFlags(0)
	render(read(*in))
	log.Printf("wrote %s and charts in %s", *out, *charts)
}

// render writes the page *out and its charts in *charts.
func render(recs []record) {
	if err := os.MkdirAll(*charts, 0o755); err != nil {
		log.Fatal(err)
	}
	// Charts of an earlier run's scenarios must not linger beside this one's.
	old, _ := filepath.Glob(filepath.Join(*charts, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	rel, err := filepath.Rel(filepath.Dir(*out), *charts)
	if err != nil {
		log.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Generated by `%s` on %s", *command, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if *elapsed > 0 {
		fmt.Fprintf(&b, " in %s", elapsed.Round(time.Second))
	}
	fmt.Fprintf(&b, "; do not edit by hand, run it again. Numbers are reported here, not asserted by any test. "+
		"All targets ran on the same machine in the same run, each scenario interleaved across them with their order rotated every round; "+
		"each number is the median of its rounds. A ratio is the gateway's number divided by the reference's: above 1 is ahead for throughput, below 1 is ahead for latency and memory.\n\n")
	machine(&b)
	if len(versions) > 0 {
		fmt.Fprintf(&b, "| component | version |\n|---|---|\n")
		for _, v := range versions {
			k, val, _ := strings.Cut(v, "=")
			fmt.Fprintf(&b, "| %s | %s |\n", k, val)
		}
		fmt.Fprintln(&b)
	}
	for _, g := range groups {
		var rs []record
		for _, r := range recs {
			if r.Group == g.name {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", g.title, g.about)
		if g.name == "latency" {
			tableByTarget(&b, rs)
		} else {
			table(&b, rs)
		}
		for _, c := range chart(g.name, rs) {
			fmt.Fprintf(&b, "![%s](%s)\n\n", c.title, filepath.ToSlash(filepath.Join(rel, c.file)))
		}
	}
	if len(notes) > 0 || len(missing) > 0 {
		fmt.Fprintf(&b, "## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		for _, m := range missing {
			fmt.Fprintf(&b, "- Not in this run: %s\n", m)
		}
		fmt.Fprintln(&b)
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

func read(path string) []record {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		r.Target, r.Ref = canonical(r.Target), canonical(r.Ref)
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	return recs
}

// canonical names the Kafka bench's gw-embedded and gw-pulsar as the MQTT
// and AMQP benches name them, so one target has one column everywhere.
func canonical(t string) string {
	if rest, ok := strings.CutPrefix(t, "gw-"); ok {
		return "gateway/" + rest
	}
	return t
}

// machine describes the CPU, memory and kernel the numbers come from.
func machine(b *strings.Builder) {
	model := "?"
	if c, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(c), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if c, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(c), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	kernel := "?"
	if c, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(c))
	}
	fmt.Fprintf(b, "Machine: %d CPUs (%s), %s of memory, Linux %s, %s/%s. Load generators, gateway and reference brokers share it.\n\n",
		runtime.NumCPU(), model, mem, kernel, runtime.GOOS, runtime.GOARCH)
}

type rowKey struct{ scenario, metric string }

// layout orders rows and targets as they first appear, and the (target,
// reference) pairs that get a ratio column.
func layout(rs []record) (rows []rowKey, targets []string, pairs [][2]string, val map[rowKey]map[string]record) {
	val = map[rowKey]map[string]record{}
	seenT := map[string]bool{}
	seenP := map[[2]string]bool{}
	for _, r := range rs {
		k := rowKey{r.Scenario, r.Metric}
		if val[k] == nil {
			val[k] = map[string]record{}
			rows = append(rows, k)
		}
		val[k][r.Target] = r
		if !seenT[r.Target] {
			seenT[r.Target] = true
			targets = append(targets, r.Target)
		}
		if p := [2]string{r.Target, r.Ref}; r.Ref != "" && !seenP[p] {
			seenP[p] = true
			pairs = append(pairs, p)
		}
	}
	for _, x := range refs {
		t, ref, _ := strings.Cut(x, "=")
		p := [2]string{t, ref}
		if seenT[t] && seenT[ref] && !seenP[p] {
			seenP[p] = true
			pairs = append(pairs, p)
		}
	}
	return
}

// refsOf is r's reference and the -ref ones of its target.
func refsOf(r record) []string {
	var out []string
	if r.Ref != "" {
		out = append(out, r.Ref)
	}
	for _, x := range refs {
		if t, ref, _ := strings.Cut(x, "="); t == r.Target && ref != r.Ref {
			out = append(out, ref)
		}
	}
	return out
}

func table(b *strings.Builder, rs []record) {
	rows, targets, pairs, val := layout(rs)
	fmt.Fprintf(b, "| scenario | metric |")
	for _, t := range targets {
		fmt.Fprintf(b, " %s |", t)
	}
	for _, p := range pairs {
		fmt.Fprintf(b, " %s ÷ %s |", p[0], p[1])
	}
	fmt.Fprintf(b, "\n|---|---|%s%s\n", strings.Repeat("---:|", len(targets)), strings.Repeat("---:|", len(pairs)))
	for _, k := range rows {
		fmt.Fprintf(b, "| %s | %s |", k.scenario, k.metric)
		for _, t := range targets {
			if r, ok := val[k][t]; ok && r.Note != "" {
				fmt.Fprintf(b, " %s (%s) |", num(r.Value), r.Note)
			} else if ok {
				fmt.Fprintf(b, " %s |", num(r.Value))
			} else {
				fmt.Fprintf(b, " |")
			}
		}
		for _, p := range pairs {
			a, okA := val[k][p[0]]
			ref, okR := val[k][p[1]]
			if okA && okR && ref.Value != 0 {
				fmt.Fprintf(b, " **%.2f** |", a.Value/ref.Value)
			} else {
				fmt.Fprintf(b, " |")
			}
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintln(b)
}

// tableByTarget has a row per scenario and target and a column per metric,
// then the ratio of each metric to the row's reference.
func tableByTarget(b *strings.Builder, rs []record) {
	type rk struct{ scenario, target string }
	var rows []rk
	var metrics []string
	val := map[rk]map[string]record{}
	for _, r := range rs {
		k := rk{r.Scenario, r.Target}
		if val[k] == nil {
			val[k] = map[string]record{}
			rows = append(rows, k)
		}
		val[k][r.Metric] = r
		if !slices.Contains(metrics, r.Metric) {
			metrics = append(metrics, r.Metric)
		}
	}
	fmt.Fprintf(b, "| scenario | target |")
	for _, m := range metrics {
		fmt.Fprintf(b, " %s |", m)
	}
	for _, m := range metrics {
		fmt.Fprintf(b, " %s ÷ reference |", strings.TrimSuffix(m, " ms"))
	}
	fmt.Fprintf(b, "\n|---|---|%s%s\n", strings.Repeat("---:|", len(metrics)), strings.Repeat("---:|", len(metrics)))
	for _, k := range rows {
		fmt.Fprintf(b, "| %s | %s |", k.scenario, k.target)
		for _, m := range metrics {
			if r, ok := val[k][m]; ok {
				fmt.Fprintf(b, " %s |", num(r.Value))
			} else {
				fmt.Fprintf(b, " |")
			}
		}
		for _, m := range metrics {
			r, ok := val[k][m]
			var cells []string
			if ok {
				for _, rt := range refsOf(r) {
					if ref, ok := val[rk{k.scenario, rt}][m]; ok && ref.Value != 0 {
						cells = append(cells, fmt.Sprintf("**%.2f** (÷ %s)", r.Value/ref.Value, rt))
					}
				}
			}
			fmt.Fprintf(b, " %s |", strings.Join(cells, ", "))
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintln(b)
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

type chartFile struct{ title, file string }

// chart draws one grouped bar chart per metric of the group (latency: one
// per scenario, its percentiles side by side), bars per target.
func chart(group string, rs []record) []chartFile {
	if group == "manytopics" { // a metric per chart would be nine charts of one or two bars: the table says it
		return nil
	}
	rows, targets, _, val := layout(rs)
	type panel struct {
		title, unit, file string
		cats              []string
		keys              []rowKey
	}
	var panels []*panel
	byName := map[string]*panel{}
	for _, k := range rows {
		name, cat := k.metric, k.scenario
		switch group {
		case "latency":
			name, cat = k.scenario, k.metric
		case "amqp": // one chart: "e2e msg/s", "published msg/s", ...
			what, unit, _ := strings.Cut(k.metric, " ")
			name, cat = unit, k.scenario+" "+what
		}
		p := byName[name]
		if p == nil {
			file := group + "-" + slug(name) + ".png"
			title := map[string]string{"kafka": "Kafka throughput", "mqtt": "MQTT delivered messages/s", "amqp": "AMQP throughput", "rocketmq": "RocketMQ throughput",
				"latency": "Latency: " + name, "memory": "Idle connections: " + name}[group]
			unit := name
			if group == "latency" {
				unit = "ms"
			}
			p = &panel{title: title, unit: unit, file: file}
			byName[name] = p
			panels = append(panels, p)
		}
		p.cats = append(p.cats, cat)
		p.keys = append(p.keys, k)
	}
	var files []chartFile
	for _, p := range panels {
		pl := plot.New()
		pl.Title.Text = p.title
		pl.Y.Label.Text = p.unit
		pl.Legend.Top = true
		grid := plotter.NewGrid() // first: behind the bars
		grid.Vertical.Color = nil
		pl.Add(grid)
		var present []string
		for _, t := range targets {
			for _, k := range p.keys {
				if _, ok := val[k][t]; ok {
					present = append(present, t)
					break
				}
			}
		}
		w := vg.Points(barWidth(60, len(present)))
		for i, t := range present {
			vs := make(plotter.Values, len(p.keys))
			for j, k := range p.keys {
				vs[j] = val[k][t].Value
			}
			bars, err := plotter.NewBarChart(vs, w)
			if err != nil {
				log.Fatal(err)
			}
			bars.LineStyle.Width = 0
			bars.Color = colorOf(t)
			bars.Offset = w * vg.Length(float64(i)-float64(len(present)-1)/2)
			pl.Add(bars)
			pl.Legend.Add(t, bars)
		}
		pl.NominalX(p.cats...)
		pl.Y.Tick.Marker = readableTicks{}
		pl.Y.Min = 0
		// Head room for the legend above the bars.
		pl.Y.Max *= 1.45
		width := vg.Length(len(p.cats))*vg.Points(90) + vg.Points(120)
		if width < 5*vg.Inch {
			width = 5 * vg.Inch
		}
		if err := pl.Save(width, 3.5*vg.Inch, filepath.Join(*charts, p.file)); err != nil {
			log.Fatal(err)
		}
		files = append(files, chartFile{p.title, p.file})
	}
	return files
}

// barWidth is the bar width that fits n bars in a category of total points.
func barWidth(total, n int) float64 {
	if n == 0 {
		return float64(total)
	}
	return float64(total) / float64(n)
}

// readableTicks are plot's default ticks labelled as the tables write numbers.
type readableTicks struct{}

func (readableTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = num(ts[i].Value)
		}
	}
	return ts
}

// colorOf gives each target one colour on every chart: the gateway's
// warm, the references' cool.
func colorOf(target string) color.Color {
	known := map[string]color.Color{
		"gateway/embedded": color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		"gateway/pulsar":   color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		"kafka":            color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		"mosquitto":        color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		"rabbitmq":         color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		"pulsar":           color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
		"pulsar-java":      color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
		"rocketmq":         color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	}
	if c, ok := known[target]; ok {
		return c
	}
	var h int
	for _, r := range target {
		h = h*31 + int(r)
	}
	return plotutil.SoftColors[(h%len(plotutil.SoftColors)+len(plotutil.SoftColors))%len(plotutil.SoftColors)]
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
