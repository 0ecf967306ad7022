package console

import (
	"fmt"
	"math"
)

func formatRate(v float64) string {
	switch {
	case v == 0:
		return "0/s"
	case v < 10:
		return fmt.Sprintf("%.1f/s", v)
	}
	return formatCount(v) + "/s"
}

// formatCount writes a count whole, with thin groups: 1 234 567.
func formatCount(v float64) string {
	n := int64(math.Round(v))
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := ""
	for len(s) > 3 {
		out = "\u202f" + s[len(s)-3:] + out
		s = s[:len(s)-3]
	}
	out = s + out
	if neg {
		out = "-" + out
	}
	return out
}

func formatBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func formatSeconds(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v < 0.001:
		return fmt.Sprintf("%.0f µs", v*1e6)
	case v < 1:
		return fmt.Sprintf("%.1f ms", v*1e3)
	}
	return fmt.Sprintf("%.2f s", v)
}
