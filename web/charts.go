package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

// The charts are drawn on the server as SVG (no chart library, nothing
// fetched): geometry is computed here, in viewBox units, and the template
// only places it. Each chart has a <title>, a <desc> and a table of the
// same numbers beside it.

// confidenceBins is the histogram's number of bins over [0, 1].
const confidenceBins = 10

// itemsPage is how many items one ListItems call reads for the charts.
const itemsPage = 1000

// Histogram geometry, in viewBox units.
const (
	histWidth, histHeight = 480, 240
	histLeft, histBottom  = 36, 44 // room for the count axis and the bin labels
	histTop               = 16
)

// Stacked-bar geometry.
const (
	stackWidth           = 480
	stackLabel           = 112 // the domain names' column
	stackRow, stackBar   = 34, 22
	stackTop, stackRight = 36, 48 // the legend above; the totals to the right
	stackNameRunes       = 13     // longer domain names are cut (the table has them whole)
)

// reviewStatuses are the stacked bars' segments, in order, with their
// colours (the dashboard's palette; each meets 3:1 against white).
var reviewStatuses = []struct {
	Status mappingjob.ReviewStatus
	Label  string
	Colour string
}{
	{mappingjob.ReviewApproved, "Approved", "#1a7f37"},
	{mappingjob.ReviewOverridden, "Overridden", "#0b5cad"},
	{mappingjob.ReviewRejected, "Rejected", "#a4161a"},
	{mappingjob.ReviewPending, "Pending", "#6e7781"},
}

type histBar struct {
	Label          string // e.g. "0.3–0.4"
	Count          int
	X, Y, W, H     float64
	LabelX, CountY float64
	Title          string
}

type histogram struct {
	Bars                []histBar
	Max                 int
	Width, Height       int
	AxisY               float64
	Ticks               []histTick
	PlotLeft, PlotRight float64
	Edges               []histTick // the bins' edges on the confidence axis (X, Label)
	TickX, LabelY       float64    // the count labels' right edge; the bin edges' baseline
	TitleX, TitleY      float64    // the axis title
}

type histTick struct {
	X, Y, TextY float64
	Label       string
}

type stackSegment struct {
	Label, Colour string
	Count         int
	X, W          float64
}

type domainRow struct {
	Domain   string
	Short    string // Domain cut to stackNameRunes
	Counts   []int  // by reviewStatuses
	Total    int
	Segments []stackSegment
	Y        float64
	TextY    float64
}

type legendEntry struct {
	Label, Colour string
	X, TextX      float64
}

type stacked struct {
	Rows   []domainRow
	Width  int
	Height int
	Legend []legendEntry
	TotalX float64
	NameX  float64  // the domain names' right edge
	Labels []string // reviewStatuses' labels, for the table
}

type resultsData struct {
	Project    tenancy.Project
	Items      int
	Histogram  histogram
	Domains    stacked
	Confidence string // the <desc> of the histogram
	Status     string // the <desc> of the stacked bars
}

// tally reads every item of project and counts them by confidence bin and
// by target domain and review status.
func (s *Server) tally(ctx context.Context, project string) (bins [confidenceBins]int, domains map[string][]int, n int, err error) {
	domains = map[string][]int{}
	var after int64
	for {
		page, err := s.cfg.Items.ListItems(ctx, project, mappingjob.ItemFilter{}, after, itemsPage)
		if err != nil {
			return bins, nil, 0, err
		}
		for _, it := range page {
			n++
			b := int(it.Confidence * confidenceBins)
			bins[min(max(b, 0), confidenceBins-1)]++
			d := it.TargetDomain
			if d == "" {
				d = "(no target)"
			}
			if domains[d] == nil {
				domains[d] = make([]int, len(reviewStatuses))
			}
			review := it.Review
			if review == mappingjob.ReviewUnset {
				review = mappingjob.ReviewPending
			}
			for i, rs := range reviewStatuses {
				if rs.Status == review {
					domains[d][i]++
				}
			}
		}
		if len(page) < itemsPage {
			return bins, domains, n, nil
		}
		after = page[len(page)-1].ID
	}
}

func histogramOf(bins [confidenceBins]int) histogram {
	h := histogram{Width: histWidth, Height: histHeight, PlotLeft: histLeft, PlotRight: histWidth - 8}
	for _, c := range bins {
		h.Max = max(h.Max, c)
	}
	top := niceMax(h.Max)
	plotH := float64(histHeight - histBottom - histTop)
	slot := (h.PlotRight - h.PlotLeft) / confidenceBins
	h.AxisY = float64(histHeight - histBottom)
	h.TickX, h.LabelY = h.PlotLeft-6, h.AxisY+16
	h.TitleX, h.TitleY = (h.PlotLeft+h.PlotRight)/2, float64(histHeight-4)
	for i := 0; i <= confidenceBins; i++ {
		h.Edges = append(h.Edges, histTick{X: h.PlotLeft + float64(i)*slot, Label: strings.TrimSuffix(fmt.Sprintf("%.1f", float64(i)/confidenceBins), ".0")})
	}
	for i, c := range bins {
		from, to := float64(i)/confidenceBins, float64(i+1)/confidenceBins
		bh := plotH * float64(c) / float64(top)
		b := histBar{Label: fmt.Sprintf("%.1f–%.1f", from, to), Count: c,
			X: h.PlotLeft + float64(i)*slot + 3, W: slot - 6, H: bh, Y: h.AxisY - bh,
			LabelX: h.PlotLeft + (float64(i)+.5)*slot}
		b.CountY = b.Y - 4
		b.Title = fmt.Sprintf("Confidence %s: %d items", b.Label, c)
		h.Bars = append(h.Bars, b)
	}
	for _, v := range []int{0, top / 2, top} {
		y := h.AxisY - plotH*float64(v)/float64(top)
		h.Ticks = append(h.Ticks, histTick{Y: y, TextY: y + 4, Label: fmt.Sprint(v)})
	}
	return h
}

// niceMax is the axis' top: n rounded up to an even number (so its half
// is whole), at least 2.
func niceMax(n int) int {
	if n < 2 {
		return 2
	}
	return n + n%2
}

func stackedOf(domains map[string][]int) stacked {
	st := stacked{Width: stackWidth, NameX: stackLabel - 8}
	names := make([]string, 0, len(domains))
	for d := range domains {
		names = append(names, d)
	}
	most := 0
	total := func(c []int) int {
		t := 0
		for _, n := range c {
			t += n
		}
		return t
	}
	// Largest domain first; ties by name, so the order is stable.
	slices.SortFunc(names, func(a, b string) int {
		if ta, tb := total(domains[a]), total(domains[b]); ta != tb {
			return tb - ta
		}
		return strings.Compare(a, b)
	})
	for _, d := range names {
		most = max(most, total(domains[d]))
	}
	barW := float64(stackWidth - stackLabel - stackRight)
	st.TotalX = float64(stackWidth - stackRight + 6)
	for i, d := range names {
		row := domainRow{Domain: d, Short: d, Counts: domains[d], Total: total(domains[d]),
			Y: float64(stackTop + i*stackRow), TextY: float64(stackTop+i*stackRow) + stackBar/2 + 5}
		if r := []rune(d); len(r) > stackNameRunes {
			row.Short = string(r[:stackNameRunes-1]) + "…"
		}
		x := float64(stackLabel)
		for j, c := range domains[d] {
			if c == 0 {
				continue
			}
			w := barW * float64(c) / float64(max(most, 1))
			row.Segments = append(row.Segments, stackSegment{Label: reviewStatuses[j].Label, Colour: reviewStatuses[j].Colour, Count: c, X: x, W: w})
			x += w
		}
		st.Rows = append(st.Rows, row)
	}
	x := 0.0
	for _, rs := range reviewStatuses {
		st.Legend = append(st.Legend, legendEntry{Label: rs.Label, Colour: rs.Colour, X: x, TextX: x + 18})
		st.Labels = append(st.Labels, rs.Label)
		x += 18 + 8*float64(len(rs.Label)) + 16 // swatch, the label at about 8 units a letter, a gap
	}
	st.Height = stackTop + max(len(names), 1)*stackRow + 8
	return st
}

func (s *Server) results(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.readableProject(r, v)
	if err != nil {
		return err
	}
	if s.cfg.Items == nil {
		return &pageError{Status: http.StatusNotFound}
	}
	bins, domains, n, err := s.tally(r.Context(), project.ID)
	if err != nil {
		return err
	}
	d := resultsData{Project: project, Items: n, Histogram: histogramOf(bins), Domains: stackedOf(domains)}
	var parts []string
	for _, b := range d.Histogram.Bars {
		parts = append(parts, fmt.Sprintf("%s: %d", b.Label, b.Count))
	}
	d.Confidence = fmt.Sprintf("Items by confidence, in %d bins of 0.1 from 0 to 1: %s.", confidenceBins, strings.Join(parts, "; "))
	parts = parts[:0]
	for _, row := range d.Domains.Rows {
		var c []string
		for i, rs := range reviewStatuses {
			c = append(c, fmt.Sprintf("%d %s", row.Counts[i], strings.ToLower(rs.Label)))
		}
		parts = append(parts, row.Domain+": "+strings.Join(c, ", "))
	}
	d.Status = "Items by target domain and review status. " + strings.Join(parts, "; ") + "."
	return s.render(w, r, http.StatusOK, "results", "Results · "+project.Name, "projects", d)
}
