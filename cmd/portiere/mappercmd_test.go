package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/platform/postgres"
)

// TestMapperResealKYC rotates the KYC key as docs/mapper.md says: the new
// key first, `portiere mapper reseal-kyc`, then the old key can go.
func TestMapperResealKYC(t *testing.T) {
	setDBEnv(t)
	var out, errOut bytes.Buffer
	if err := run([]string{"migrate"}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	ctx := context.Background()
	cfg, err := config.LoadEnv(config.ModeMigrate)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, cfg.DB.ConnString(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	k1 := mapper.Key{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}
	k2 := mapper.Key{ID: "k2", Key: bytes.Repeat([]byte{2}, 32)}
	env := func(keys ...mapper.Key) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, k.ID+":"+base64.StdEncoding.EncodeToString(k.Key))
		}
		return strings.Join(parts, ",")
	}
	svc := func(keys ...mapper.Key) *mapper.Service {
		s, err := mapper.NewSealer(keys)
		if err != nil {
			t.Fatal(err)
		}
		return mapper.NewService(mapperstore.New(pool), s, mapper.NewAdmins([]string{"Uadmin"}), mapper.Options{})
	}
	old := svc(k1)
	m, err := old.SignIn(ctx, "Urotate", "R")
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
	d, err := old.Upload(ctx, m.ID, mapper.KindGovernmentID, pdf)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAPPER_KYC_KEYS", env(k2, k1))
	out.Reset()
	if err := run([]string{"mapper", "reseal-kyc"}, &out, &errOut); err != nil || !strings.Contains(out.String(), `1 KYC documents resealed with key "k2"`) {
		t.Fatalf("reseal: %v %q\n%s", err, out.String(), errOut.String())
	}
	if _, b, err := svc(k2).ViewDocument(ctx, "Uadmin", d.ID); err != nil || !bytes.Equal(b, pdf) {
		t.Fatalf("after retiring k1: %v", err)
	}
	t.Setenv("MAPPER_KYC_KEYS", "")
	if err := run([]string{"mapper", "reseal-kyc"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "MAPPER_KYC_KEYS") {
		t.Fatalf("no keys: %v", err)
	}
}
