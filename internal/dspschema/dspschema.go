// Package dspschema loads the official DSP 2025-1 JSON Schemas from the shared test
// data (../shared/specs/dsp-2025-1-artifacts, never copied into the repository) so tests
// can validate every message dx sends. It is test support: production code never uses it.
package dspschema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir finds the artifacts folder from a test's working directory, or returns "".
func Dir() string {
	for _, up := range []string{"../shared", "../../shared", "../../../shared", "../../../../shared"} {
		d := filepath.Join(up, "specs", "dsp-2025-1-artifacts")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// Schemas compiles schemas by their $id.
type Schemas struct {
	c *jsonschema.Compiler
}

// Load registers every *-schema.json under dir by its $id. The transfer schemas'
// "#definitions/" references lack their slash (a known erratum); they are mended here.
func Load(dir string) (*Schemas, error) {
	c := jsonschema.NewCompiler()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "-schema.json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(`#definitions/`), []byte(`#/definitions/`))
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		var head struct {
			ID string `json:"$id"`
		}
		json.Unmarshal(b, &head)
		return c.AddResource(head.ID, doc)
	})
	if err != nil {
		return nil, err
	}
	return &Schemas{c: c}, nil
}

// Validate checks the JSON document b against the schema at ref (a $id, optionally
// with a #/definitions/… fragment).
func (s *Schemas) Validate(ref string, b []byte) error {
	sch, err := s.c.Compile(ref)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(doc)
}
