package mapper_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/portiere/portiere/mapper"
)

func validRegistration() mapper.Registration {
	return mapper.Registration{LegalName: "Somchai Jaidee", Email: "somchai@example.org", Title: "Medical coder",
		Affiliation: "Siriraj Hospital", Expertise: mapper.Expertise{Vocabularies: []string{"ICD10CM", "SNOMED"}}, YearsExperience: 7}
}

func TestRegistrationValidate(t *testing.T) {
	if err := validRegistration().Normalize().Validate(); err != nil {
		t.Fatalf("valid registration refused: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*mapper.Registration)
	}{
		{"legal_name", func(r *mapper.Registration) { r.LegalName = "  " }},
		{"legal_name", func(r *mapper.Registration) { r.LegalName = strings.Repeat("x", 201) }},
		{"legal_name", func(r *mapper.Registration) { r.LegalName = "a\nb" }},
		{"email", func(r *mapper.Registration) { r.Email = "not-an-email" }},
		{"email", func(r *mapper.Registration) { r.Email = "Name <n@example.org>" }},
		{"title", func(r *mapper.Registration) { r.Title = "" }},
		{"affiliation", func(r *mapper.Registration) { r.Affiliation = "" }},
		{"expertise", func(r *mapper.Registration) { r.Expertise = mapper.Expertise{Vocabularies: []string{" ", ""}} }},
		{"expertise", func(r *mapper.Registration) { r.Expertise.Domains = []string{strings.Repeat("d", 61)} }},
		{"years_experience", func(r *mapper.Registration) { r.YearsExperience = -1 }},
		{"years_experience", func(r *mapper.Registration) { r.YearsExperience = 71 }},
	}
	for _, c := range cases {
		r := validRegistration()
		c.edit(&r)
		err := r.Normalize().Validate()
		var fe mapper.FieldErrors
		if !errors.As(err, &fe) || !errors.Is(err, mapper.ErrInvalid) || fe.Of(c.field) == "" {
			t.Errorf("%s: want a message for %s, got %v", c.field, c.field, err)
		}
	}
	// Normalize drops blanks and case-insensitive repeats, keeping order.
	r := mapper.Registration{Expertise: mapper.Expertise{Vocabularies: []string{" LOINC", "loinc", "", "RxNorm"}}}
	if got := r.Normalize().Expertise.Vocabularies; strings.Join(got, ",") != "LOINC,RxNorm" {
		t.Fatalf("normalized %q", got)
	}
}

func TestStateMachine(t *testing.T) {
	allowed := map[mapper.Status]map[mapper.Action]mapper.Status{
		mapper.StatusRegistering:   {mapper.ActionSubmit: mapper.StatusPending},
		mapper.StatusPending:       {mapper.ActionApprove: mapper.StatusApproved, mapper.ActionReject: mapper.StatusRejected, mapper.ActionRequestInfo: mapper.StatusInfoRequested},
		mapper.StatusInfoRequested: {mapper.ActionSubmit: mapper.StatusPending, mapper.ActionApprove: mapper.StatusApproved, mapper.ActionReject: mapper.StatusRejected},
		mapper.StatusRejected:      {mapper.ActionSubmit: mapper.StatusPending},
		mapper.StatusApproved:      {mapper.ActionSuspend: mapper.StatusSuspended},
		mapper.StatusSuspended:     {mapper.ActionReinstate: mapper.StatusApproved},
	}
	actions := []mapper.Action{mapper.ActionSubmit, mapper.ActionApprove, mapper.ActionReject, mapper.ActionRequestInfo, mapper.ActionSuspend, mapper.ActionReinstate}
	for from, ok := range allowed {
		for _, a := range actions {
			to, err := mapper.Next(from, a)
			want, allowed := ok[a]
			switch {
			case allowed && (err != nil || to != want):
				t.Errorf("%s from %s: got %s %v, want %s", a, from, to, err, want)
			case !allowed && !errors.Is(err, mapper.ErrConflict):
				t.Errorf("%s from %s: got %s %v, want a conflict", a, from, to, err)
			}
		}
	}
	if _, err := mapper.Next(mapper.StatusPending, "delete"); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("unknown action: %v", err)
	}
}

func key(id string, b byte) mapper.Key { return mapper.Key{ID: id, Key: bytes.Repeat([]byte{b}, 32)} }

func TestSealer(t *testing.T) {
	if _, err := mapper.NewSealer(nil); err == nil {
		t.Fatal("no keys accepted")
	}
	if _, err := mapper.NewSealer([]mapper.Key{{ID: "short", Key: []byte("0123")}}); err == nil || !strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: %v", err)
	}
	if _, err := mapper.NewSealer([]mapper.Key{key("a", 1), key("a", 2)}); err == nil {
		t.Fatal("repeated id accepted")
	}
	old, _ := mapper.NewSealer([]mapper.Key{key("k1", 1)})
	kid, sealed := old.Seal([]byte("passport scan"), []byte("doc_1"))
	if kid != "k1" || bytes.Contains(sealed, []byte("passport")) {
		t.Fatalf("sealed under %s: %q", kid, sealed)
	}
	// Rotation: the new key seals, the old one still opens.
	rotated, _ := mapper.NewSealer([]mapper.Key{key("k2", 2), key("k1", 1)})
	if pt, err := rotated.Open(kid, sealed, []byte("doc_1")); err != nil || string(pt) != "passport scan" {
		t.Fatalf("open after rotation: %q %v", pt, err)
	}
	if kid2, _ := rotated.Seal([]byte("x"), nil); kid2 != "k2" {
		t.Fatalf("sealed with %s after rotation", kid2)
	}
	// Bound to its row: other additional data fails; so does a flipped bit.
	if _, err := rotated.Open(kid, sealed, []byte("doc_2")); err == nil {
		t.Fatal("opened with another document's binding")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := rotated.Open(kid, sealed, []byte("doc_1")); err == nil {
		t.Fatal("tampered blob opened")
	}
	if _, err := mapper.NewSealer([]mapper.Key{key("k2", 2)}); err != nil {
		t.Fatal(err)
	}
	dropped, _ := mapper.NewSealer([]mapper.Key{key("k2", 2)})
	if _, err := dropped.Open("k1", sealed, nil); err == nil || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("unknown key: %v", err)
	}
}

// Small but real file headers.
var (
	pngFile  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	jpegFile = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0}, 64)...)
	pdfFile  = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
)

func TestSniffDocument(t *testing.T) {
	for want, b := range map[string][]byte{"image/png": pngFile, "image/jpeg": jpegFile, "application/pdf": pdfFile} {
		if got, err := mapper.SniffDocument(b); err != nil || got != want {
			t.Errorf("sniffed %s as %s %v", want, got, err)
		}
	}
	for name, b := range map[string][]byte{
		"html": []byte("<html><script>alert(1)</script></html>"), "zip": []byte("PK\x03\x04rest"),
		"text": []byte("just text"), "empty": nil, "svg": []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`),
	} {
		if ct, err := mapper.SniffDocument(b); !errors.Is(err, mapper.ErrInvalid) {
			t.Errorf("%s accepted as %s", name, ct)
		}
	}
}
