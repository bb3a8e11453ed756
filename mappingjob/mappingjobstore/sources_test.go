package mappingjobstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// A source and its codes are stored together or not at all; codes read by
// source carry their count, column and context.
func TestCreateSourceIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	tenants := tenancystore.New(pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "o", Slug: "org"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s := mappingjobstore.New(pool)
	src := mappingjob.Source{ProjectID: p.ID, Name: "lab", Format: "csv", Kind: mappingjob.SourceUpload, Header: []string{"code", "description"},
		Columns: mappingjob.SourceColumns{Code: "code", Description: "description"}, Delimiter: ",", Rows: 3, DistinctCodes: 2, TotalCount: 3}
	a, err := s.CreateSource(ctx, src, []mappingjob.SourceCode{
		{Code: "NA", Description: "Sodium", Count: 2, Column: "code", Specimen: "Serum", Unit: "mmol/L", DomainHint: "Measurement", Category: "Chemistry"},
		{Code: "K", Description: "Potassium", Count: 1, Column: "code"},
	})
	if err != nil || a.ID == "" || a.CreatedAt.IsZero() || a.Columns.Code != "code" || a.DistinctCodes != 2 {
		t.Fatalf("create: %+v %v", a, err)
	}
	// Codes of another source (the demo's way, without a source row).
	if _, err := s.AddSourceCodes(ctx, p.ID, []mappingjob.SourceCode{{Source: "legacy", Code: "X", Description: "x"}}); err != nil {
		t.Fatal(err)
	}
	codes, err := s.SourceCodes(ctx, p.ID, a.ID, 0, 10)
	if err != nil || len(codes) != 2 {
		t.Fatalf("codes of the source: %+v %v", codes, err)
	}
	if c := codes[0]; c.Code != "NA" || c.Count != 2 || c.Specimen != "Serum" || c.Unit != "mmol/L" || c.DomainHint != "Measurement" ||
		c.Category != "Chemistry" || c.Column != "code" || c.Source != "lab" || c.SourceID != a.ID {
		t.Errorf("code %+v", c)
	}
	if n, err := s.CountSourceCodes(ctx, p.ID, a.ID); err != nil || n != 2 {
		t.Errorf("count of the source: %d %v", n, err)
	}
	if n, err := s.CountSourceCodes(ctx, p.ID, ""); err != nil || n != 3 {
		t.Errorf("count of the project: %d %v", n, err)
	}
	if _, err := s.CountSourceCodes(ctx, p.ID, "nope"); !errors.Is(err, mappingjob.ErrNotFound) {
		t.Errorf("malformed source id: %v", err)
	}

	count := func() (int, int) {
		var sources, codes int
		if err := pool.QueryRow(ctx, `select (select count(*) from sources), (select count(*) from source_codes)`).Scan(&sources, &codes); err != nil {
			t.Fatal(err)
		}
		return sources, codes
	}
	// A taken name — a source's, or codes' without a source row — and a
	// bad code late in the list all leave nothing behind.
	for name, codes := range map[string][]mappingjob.SourceCode{
		"lab":    {{Code: "Z"}},
		"legacy": {{Code: "Y"}, {Code: "X"}},
		"new":    {{Code: "Y"}, {Code: ""}},
	} {
		b := src
		b.Name = name
		_, err := s.CreateSource(ctx, b, codes)
		if err == nil {
			t.Errorf("%s: stored", name)
		}
		if name != "new" && !errors.Is(err, mappingjob.ErrSourceExists) {
			t.Errorf("%s: %v, want ErrSourceExists", name, err)
		}
	}
	if s, c := count(); s != 1 || c != 3 {
		t.Errorf("after the refused sources: %d sources, %d codes; want 1 and 3", s, c)
	}
	if _, err := s.CreateSource(ctx, mappingjob.Source{ProjectID: "00000000-0000-0000-0000-000000000000", Name: "x", Kind: mappingjob.SourceUpload}, nil); !errors.Is(err, mappingjob.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
	list, err := s.Sources(ctx, p.ID)
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("sources: %+v %v", list, err)
	}
	if _, err := s.Source(ctx, p.ID, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, mappingjob.ErrNotFound) {
		t.Errorf("unknown source: %v", err)
	}
}
