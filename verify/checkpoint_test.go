package verify

import (
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestParseCheckpoint(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	tests := []struct {
		text    string
		wantErr string
		size    uint64
		ext     int
	}{
		{text: "example.com/log\n5\n" + root + "\n", size: 5},
		{text: "example.com/log\n0\n" + root + "\n", size: 0},
		{text: "example.com/log\n18446744073709551615\n" + root + "\n", size: 1<<64 - 1},
		{text: "o\n5\n" + root + "\next one\next two\n", size: 5, ext: 2},
		{text: "o\n5\n" + root, wantErr: "newline"},
		{text: "\n5\n" + root + "\n", wantErr: "origin"},
		{text: "o\n05\n" + root + "\n", wantErr: "size"},
		{text: "o\n-5\n" + root + "\n", wantErr: "size"},
		{text: "o\n\n" + root + "\n", wantErr: "size"},
		{text: "o\n18446744073709551616\n" + root + "\n", wantErr: "size"},
		{text: "o\n5\nAAAA\n", wantErr: "root"},
		{text: "o\n5\n" + strings.TrimSuffix(root, "=") + "\n", wantErr: "root"},
		{text: "o\n5\n" + root + "\n\n", wantErr: "extension"},
		{text: "o\n5\n", wantErr: "lines"},
	}
	for _, tt := range tests {
		c, err := ParseCheckpoint([]byte(tt.text))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCheckpoint(%q) = %v, want error containing %q", tt.text, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCheckpoint(%q) = %v", tt.text, err)
			continue
		}
		if c.Size != tt.size || len(c.Extensions) != tt.ext {
			t.Errorf("ParseCheckpoint(%q) = size %d, %d extensions; want %d, %d", tt.text, c.Size, len(c.Extensions), tt.size, tt.ext)
		}
		if got := string(c.Text()); got != tt.text {
			t.Errorf("ParseCheckpoint(%q).Text() = %q", tt.text, got)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	skey2, _, _ := note.GenerateKey(rand.Reader, "example.com")
	other, _ := note.NewSigner(skey2)

	c := Checkpoint{Origin: "example.com/acme", Size: 3}
	msg, err := note.Sign(&note.Note{Text: string(c.Text())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	known := note.VerifierList(verifier)
	got, err := OpenCheckpoint(msg, known, "example.com/acme")
	if err != nil || got.Size != 3 {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	if _, err := OpenCheckpoint(msg, known, "example.com/other"); err == nil {
		t.Error("OpenCheckpoint with the wrong origin succeeded")
	}
	forged, _ := note.Sign(&note.Note{Text: string(c.Text())}, other)
	if _, err := OpenCheckpoint(forged, known, ""); err == nil {
		t.Error("OpenCheckpoint of a note signed by another key succeeded")
	}
	// A witness cosignature by an unknown key is ignored.
	skeyW, _, _ := note.GenerateKey(rand.Reader, "witness.example")
	w, _ := note.NewSigner(skeyW)
	cosigned, _ := note.Sign(&note.Note{Text: string(c.Text())}, signer, w)
	if _, err := OpenCheckpoint(cosigned, known, ""); err != nil {
		t.Errorf("OpenCheckpoint with an extra cosignature: %v", err)
	}
	tampered := []byte(strings.Replace(string(msg), "\n3\n", "\n4\n", 1))
	if _, err := OpenCheckpoint(tampered, known, ""); err == nil {
		t.Error("OpenCheckpoint of an edited note succeeded")
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.com/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"))
	f.Add([]byte("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Add([]byte("o\n05\nAAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err != nil {
			return
		}
		if got := string(c.Text()); got != string(data) {
			t.Fatalf("ParseCheckpoint(%q).Text() = %q: not canonical", data, got)
		}
	})
}
