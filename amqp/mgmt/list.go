package mgmt

// Answering lists and objects as RabbitMQ does: name filters, regexes, pages, columns, sorting.

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// one answers a single object, or 404.
func (h *Handler) one(w http.ResponseWriter, r *http.Request, items []object) {
	if len(items) == 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, columns(r, items[0]))
}

// columns keeps the fields the request's columns parameter names (dotted paths reach into
// nested objects: message_stats.publish), as RabbitMQ does; none named keeps all.
func columns(r *http.Request, o object) object {
	cols := r.URL.Query().Get("columns")
	if cols == "" {
		return o
	}
	out := object{}
	for _, c := range strings.Split(cols, ",") {
		path := strings.Split(c, ".")
		src, dst := o, out
		for i, k := range path {
			v, ok := src[k]
			if !ok {
				break
			}
			if i == len(path)-1 {
				dst[k] = v
				break
			}
			sub, ok := v.(object)
			if !ok {
				dst[k] = v
				break
			}
			next, _ := dst[k].(object)
			if next == nil {
				next = object{}
				dst[k] = next
			}
			src, dst = sub, next
		}
	}
	return out
}

// sortItems orders a list by the request's sort field (dotted paths too), reversed with
// sort_reverse=true, as RabbitMQ does.
func sortItems(r *http.Request, items []object) {
	key := r.URL.Query().Get("sort")
	if key == "" {
		return
	}
	get := func(o object) any {
		var v any = o
		for _, k := range strings.Split(key, ".") {
			m, ok := v.(object)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	less := func(a, b any) bool {
		switch a := a.(type) {
		case string:
			b, _ := b.(string)
			return a < b
		case int, int64, uint16, uint32, float64:
			return toFloat(a) < toFloat(b)
		}
		return false
	}
	reverse := r.URL.Query().Get("sort_reverse") == "true"
	sort.SliceStable(items, func(i, j int) bool {
		if reverse {
			return less(get(items[j]), get(items[i]))
		}
		return less(get(items[i]), get(items[j]))
	})
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint16:
		return float64(v)
	case uint32:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// list answers a list, filtered by name (use_regex) and paginated as RabbitMQ when
// the request asks for a page: {items, page, page_count, ...}, which KEDA's regex mode reads.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, items []object) {
	q := r.URL.Query()
	total := len(items)
	if name := q.Get("name"); name != "" {
		match := func(s string) bool { return strings.Contains(s, name) }
		if q.Get("use_regex") == "true" {
			re, err := regexp.Compile(name)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "reason": "invalid regex: " + err.Error()})
				return
			}
			match = re.MatchString
		}
		kept := items[:0]
		for _, it := range items {
			if s, _ := it["name"].(string); match(s) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if items == nil {
		items = []object{}
	}
	sortItems(r, items)
	for i := range items {
		items[i] = columns(r, items[i])
	}
	if q.Get("page") == "" {
		writeJSON(w, http.StatusOK, items)
		return
	}
	page, err1 := strconv.Atoi(q.Get("page"))
	size := 100
	var err2 error
	if s := q.Get("page_size"); s != "" {
		size, err2 = strconv.Atoi(s)
	}
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > 500 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "reason": "invalid page or page_size"})
		return
	}
	filtered := len(items)
	pages := (filtered + size - 1) / size
	start := min((page-1)*size, filtered)
	end := min(start+size, filtered)
	writeJSON(w, http.StatusOK, object{"filtered_count": filtered, "item_count": end - start, "items": items[start:end],
		"page": page, "page_count": pages, "page_size": size, "total_count": total})
}
