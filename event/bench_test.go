package event

import (
	"bytes"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data := []byte(sampleEvent)
	b.Run("ParseJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := ParseJSON(data, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Parse(data, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The generic path that Parse used to take, for comparison.
	b.Run("Reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := referenceParse(data, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseBatch parses an array of 500 events, as a client sends
// them to the ingest endpoint.
func BenchmarkParseBatch(b *testing.B) {
	events := make([][]byte, 500)
	for i := range events {
		events[i] = []byte(sampleEvent)
	}
	data := append(append([]byte("[\n"), bytes.Join(events, []byte(",\n"))...), "\n]"...)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		evs, err := ParseBatch(data, DefaultLimits())
		if err != nil || len(evs) != len(events) {
			b.Fatalf("ParseBatch() = %d events, %v", len(evs), err)
		}
	}
}

func BenchmarkReadNDJSON(b *testing.B) {
	line := bytes.ReplaceAll([]byte(sampleEvent), []byte("\n"), nil)
	data := bytes.Repeat(append(line, '\n'), 100)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		err := ReadNDJSON(bytes.NewReader(data), DefaultLimits(), func(int, *Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEntryCanonical(b *testing.B) {
	e := sampleEntry(b)
	b.Run("Entry", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Canonical(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Event", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Event.CanonicalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Data", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendCanonical(buf[:0], e.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseEntry", func(b *testing.B) {
		c, _ := e.Canonical()
		for b.Loop() {
			if _, err := ParseEntry(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLeafHash(b *testing.B) {
	c, err := sampleEntry(b).Canonical()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(c)))
	for b.Loop() {
		LeafHash(c)
	}
}

func BenchmarkEntryID(b *testing.B) {
	c, err := sampleEntry(b).Canonical()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EntryID(c); err != nil {
			b.Fatal(err)
		}
	}
}
