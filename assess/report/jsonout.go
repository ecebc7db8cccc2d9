package report

import (
	"encoding/json"
	"io"

	"github.com/shift-migrate/shift/assess"
)

func writeJSON(w io.Writer, res *assess.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
