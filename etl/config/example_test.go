package config

import (
	"os"
	"reflect"
	"testing"
)

// The shipped .env.example documents every variable, and, with a token
// filled in, is a valid configuration.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	text, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ParseDotenv(string(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Env{})
	for i := 0; i < typ.NumField(); i++ {
		env, def := envTag(typ.Field(i))
		v, ok := vals[env]
		if !ok {
			t.Errorf(".env.example does not mention %s", env)
		} else if def != "" && v != def {
			t.Errorf(".env.example sets %s=%q, but its default is %q", env, v, def)
		}
	}
	vals["DIALPAD_API_TOKEN"] = "example"
	if _, err := load(t, map[string]string{}, vals); err != nil {
		t.Errorf(".env.example with a token does not load: %v", err)
	}
}
