package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// column describes one column of a table.
type column struct {
	title string
	width int  // the width it needs; flexible columns get at least this
	flex  bool // takes a share of the room left over
	drop  int  // dropped when the table is too narrow; higher drops first, 0 never
}

// cell is one table cell: plain text and the style it is shown in.
type cell struct {
	text  string
	style lipgloss.Style
}

func plain(s string) cell { return cell{text: s} }

// table renders rows under a header in width columns and at most height
// lines (the header included), scrolled so that row sel is visible. sel < 0
// selects nothing.
func table(st styles, cols []column, rows [][]cell, sel, width, height int) string {
	keep := fitColumns(cols, width)
	widths := make([]int, len(cols))
	used := 0
	nflex := 0
	for _, i := range keep {
		widths[i] = cols[i].width
		used += cols[i].width
		if cols[i].flex {
			nflex++
		}
	}
	used += len(keep) - 1 // one space between columns
	if room := width - used; room > 0 && nflex > 0 {
		for _, i := range keep {
			if cols[i].flex {
				widths[i] += room / nflex
			}
		}
	}
	line := func(cells []cell, header bool) string {
		var b strings.Builder
		for n, i := range keep {
			if n > 0 {
				b.WriteByte(' ')
			}
			c := cell{}
			if i < len(cells) {
				c = cells[i]
			}
			text := ansi.Truncate(c.text, widths[i], "…")
			pad := strings.Repeat(" ", max(0, widths[i]-ansi.StringWidth(text)))
			if header {
				b.WriteString(st.TableHeader.Render(text) + pad)
			} else {
				b.WriteString(c.style.Render(text) + pad)
			}
		}
		return b.String()
	}
	header := make([]cell, len(cols))
	for i, c := range cols {
		header[i] = plain(c.title)
	}
	out := []string{line(header, true)}
	visible := max(1, height-1)
	first := 0
	if sel >= visible {
		first = sel - visible + 1
	}
	for r := first; r < len(rows) && r < first+visible; r++ {
		l := line(rows[r], false)
		if r == sel {
			l = st.Selected.Render(ansi.Strip(l))
		}
		out = append(out, l)
	}
	if more := len(rows) - (first + visible); more > 0 && len(out) > 1 {
		out[len(out)-1] = st.Muted.Render("  … " + plural(more+1, "more row", "more rows") + " (↓)")
	}
	return strings.Join(out, "\n")
}

// fitColumns returns the indexes of the columns that fit width, dropping the
// droppable ones, highest drop first.
func fitColumns(cols []column, width int) []int {
	dropped := map[int]bool{}
	for {
		total, keep := -1, []int(nil)
		for i, c := range cols {
			if !dropped[i] {
				total += c.width + 1
				keep = append(keep, i)
			}
		}
		if total <= width {
			return keep
		}
		worst := -1
		for i, c := range cols {
			if !dropped[i] && c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			return keep
		}
		dropped[worst] = true
	}
}
