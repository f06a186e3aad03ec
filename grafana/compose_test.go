package grafana

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// The compose file is validated with compose-go, the loader of docker
// compose itself: no Docker engine or compose plugin is needed.

var requiredEnv = []string{"CLICKHOUSE_PASSWORD=secret", "GRAFANA_ADMIN_PASSWORD=secret", "GRAFANA_CLICKHOUSE_PASSWORD=gr-secret"}

func loadCompose(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join("..", "docker-compose.yml")},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
		cli.WithoutEnvironmentResolution, // the developer's .env, if any, is not the test's business
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeFile(t *testing.T) {
	p, err := loadCompose(t, requiredEnv)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	if names := p.ServiceNames(); !sameSet(names, []string{"clickhouse", "grafana", "etl"}) {
		t.Errorf("services without a profile: %v, want clickhouse, grafana, etl", names)
	}
	demo, err := loadCompose(t, requiredEnv, "demo")
	if err != nil {
		t.Fatalf("docker-compose.yml with the demo profile does not load: %v", err)
	}
	if names := demo.ServiceNames(); !sameSet(names, []string{"clickhouse", "grafana", "etl", "simulator", "etl-demo"}) {
		t.Errorf("services of the demo profile: %v", names)
	}
	for _, missing := range requiredEnv {
		name, _, _ := strings.Cut(missing, "=")
		var env []string
		for _, e := range requiredEnv {
			if e != missing {
				env = append(env, e)
			}
		}
		if _, err := loadCompose(t, env); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s the compose file loads (%v); it must refuse and name it", name, err)
		}
	}

	for _, s := range demo.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", s.Name)
		}
		if s.Build == nil && (strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":")) {
			t.Errorf("service %s: image %q is not pinned", s.Name, s.Image)
		}
	}
	t.Run("clickhouse", func(t *testing.T) { checkClickHouse(t, demo.Services["clickhouse"]) })
	t.Run("grafana", func(t *testing.T) { checkGrafana(t, demo.Services["grafana"]) })
	t.Run("etl", func(t *testing.T) {
		etl := demo.Services["etl"]
		if etl.Build == nil || etl.Build.Context != mustAbs(t, "..") {
			t.Errorf("etl is not built from the repository's Dockerfile: %+v", etl.Build)
		}
		if !slices.Equal([]string(etl.Command), []string{"schedule"}) {
			t.Errorf("etl command %v, want [schedule]", etl.Command)
		}
		if len(etl.EnvFiles) != 1 || filepath.Base(etl.EnvFiles[0].Path) != ".env" {
			t.Errorf("etl env_file %+v, want .env", etl.EnvFiles)
		}
		checkJobEnv(t, etl)
	})
	t.Run("demo", func(t *testing.T) { checkDemo(t, demo) })
	t.Run("Dockerfile", checkDockerfile)
}

func checkClickHouse(t *testing.T, s types.ServiceConfig) {
	m := regexp.MustCompile(`^clickhouse/clickhouse-server:(\d+)\.(\d+)`).FindStringSubmatch(s.Image)
	if m == nil {
		t.Fatalf("image %q: want clickhouse/clickhouse-server:<LTS>", s.Image)
	}
	if major, _ := strconv.Atoi(m[1]); major < 24 {
		t.Errorf("image %q: want a current LTS (24.x or later)", s.Image)
	}
	named := false
	for _, v := range s.Volumes {
		named = named || (v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/clickhouse")
	}
	if !named {
		t.Error("no named volume at /var/lib/clickhouse")
	}
	if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
		t.Error("no healthcheck")
	}
	if n, ok := s.Ulimits["nofile"]; !ok || n.Soft < 65536 {
		t.Errorf("ulimits nofile %+v, want a high limit", s.Ulimits["nofile"])
	}
	if env(s, "CLICKHOUSE_PASSWORD") != "secret" {
		t.Error("the server's password is not CLICKHOUSE_PASSWORD")
	}
	// The job's user manages no access; Grafana's own read-only user comes
	// from a users.d file, its password from GRAFANA_CLICKHOUSE_PASSWORD.
	if v := env(s, "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"); v != "" && v != "0" {
		t.Errorf("CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=%s: the job's user needs no access management", v)
	}
	if env(s, "GRAFANA_CLICKHOUSE_PASSWORD") != "gr-secret" {
		t.Error("the server does not get GRAFANA_CLICKHOUSE_PASSWORD for Grafana's user")
	}
	mounted := false
	for _, v := range s.Volumes {
		mounted = mounted || v.Target == "/etc/clickhouse-server/users.d/grafana-user.xml" &&
			v.Source == mustAbs(t, filepath.Join("..", "grafana", "clickhouse", "grafana-user.xml")) && v.ReadOnly
	}
	if !mounted {
		t.Error("grafana/clickhouse/grafana-user.xml is not mounted read-only into the server's users.d")
	}
}

func checkGrafana(t *testing.T, s types.ServiceConfig) {
	if !regexp.MustCompile(`^grafana/grafana:12\.\d+\.\d+$`).MatchString(s.Image) {
		t.Errorf("image %q: want grafana/grafana:12.x.y", s.Image)
	}
	if p := env(s, "GF_PLUGINS_PREINSTALL_SYNC"); !regexp.MustCompile(`^` + DatasourceType + `@4\.\d+\.\d+$`).MatchString(p) {
		t.Errorf("GF_PLUGINS_PREINSTALL_SYNC %q: want %s@4.x.y", p, DatasourceType)
	}
	if env(s, "GF_SECURITY_ADMIN_PASSWORD") != "secret" || env(s, "GF_AUTH_ANONYMOUS_ENABLED") != "false" {
		t.Error("the admin password must come from GRAFANA_ADMIN_PASSWORD, anonymous access default to false")
	}
	if env(s, "CLICKHOUSE_USERNAME") != "grafana" || env(s, "CLICKHOUSE_PASSWORD") != "gr-secret" {
		t.Errorf("Grafana reads as %q: want its own read-only user grafana, with GRAFANA_CLICKHOUSE_PASSWORD", env(s, "CLICKHOUSE_USERNAME"))
	}
	// What grafana/provisioning/datasources/clickhouse.yaml expands.
	for _, name := range []string{"CLICKHOUSE_HOST", "CLICKHOUSE_PORT", "CLICKHOUSE_USERNAME", "CLICKHOUSE_DATABASE", "CLICKHOUSE_PASSWORD"} {
		if env(s, name) == "" {
			t.Errorf("%s is not set for the data source", name)
		}
	}
	mounts := map[string]types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		mounts[v.Target] = v
	}
	for target, source := range map[string]string{
		"/etc/grafana/provisioning": "grafana/provisioning",
		dashboardsMount:             "grafana/dashboards",
	} {
		v, ok := mounts[target]
		switch {
		case !ok:
			t.Errorf("nothing mounted at %s", target)
		case v.Source != mustAbs(t, filepath.Join("..", source)) || !v.ReadOnly:
			t.Errorf("%s: mounted from %s (read-only %v), want ./%s read-only", target, v.Source, v.ReadOnly, source)
		}
	}
	published := false
	for _, p := range s.Ports {
		published = published || p.Target == 3000
	}
	if !published {
		t.Error("port 3000 is not published")
	}
	if home := env(s, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"); home != "" {
		if _, err := os.Stat(filepath.Join("dashboards", strings.TrimPrefix(home, dashboardsMount+"/"))); err != nil {
			t.Errorf("home dashboard %s: %v", home, err)
		}
	}
}

func checkJobEnv(t *testing.T, s types.ServiceConfig) {
	t.Helper()
	if env(s, "CLICKHOUSE_ADDR") != "clickhouse:9000" || env(s, "CLICKHOUSE_PASSWORD") != "secret" {
		t.Errorf("%s: CLICKHOUSE_ADDR %q, want clickhouse:9000, and the password", s.Name, env(s, "CLICKHOUSE_ADDR"))
	}
	if d, ok := s.DependsOn["clickhouse"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("%s must wait for a healthy clickhouse", s.Name)
	}
}

func checkDemo(t *testing.T, p *types.Project) {
	sim, job := p.Services["simulator"], p.Services["etl-demo"]
	for _, s := range []types.ServiceConfig{sim, job} {
		if !slices.Equal(s.Profiles, []string{"demo"}) {
			t.Errorf("%s: profiles %v, want [demo]", s.Name, s.Profiles)
		}
		if s.Image != p.Services["etl"].Image {
			t.Errorf("%s: image %q, want the job's own %q", s.Name, s.Image, p.Services["etl"].Image)
		}
	}
	cmd := []string(sim.Command)
	if len(cmd) == 0 || cmd[0] != "simulate" || !slices.Contains(cmd, "--live") {
		t.Fatalf("simulator command %v, want simulate ... --live", cmd)
	}
	addr, seed := flagValue(cmd, "--addr"), flagValue(cmd, "--seed")
	_, port, _ := strings.Cut(addr, ":")
	if !strings.HasPrefix(addr, "0.0.0.0:") {
		t.Errorf("simulator --addr %q must listen on every interface", addr)
	}
	checkJobEnv(t, job)
	if !slices.Equal([]string(job.Command), []string{"schedule"}) {
		t.Errorf("etl-demo command %v, want [schedule]", job.Command)
	}
	u, err := url.Parse(env(job, "DIALPAD_BASE_URL"))
	if err != nil || u.Scheme != "http" || u.Hostname() != "simulator" || u.Port() != port {
		t.Errorf("etl-demo DIALPAD_BASE_URL %q does not point at the simulator (port %s)", env(job, "DIALPAD_BASE_URL"), port)
	}
	if env(job, "DIALPAD_API_TOKEN") != "sim-token" || env(job, "ETL_START") == "" {
		t.Error("etl-demo needs DIALPAD_API_TOKEN=sim-token and a recent ETL_START")
	}
	// The targets must be the simulator's groups for its seed.
	n := int64(1)
	if seed != "" {
		if n, err = strconv.ParseInt(seed, 10, 64); err != nil {
			t.Fatalf("simulator --seed %q", seed)
		}
	}
	s, err := simulator.New(simulator.Config{Seed: n, CallsPerDay: 1})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, target := range s.Targets() {
		want = append(want, target.String())
	}
	if got := strings.Split(env(job, "DIALPAD_TARGETS"), ","); !sameSet(got, want) {
		t.Errorf("etl-demo DIALPAD_TARGETS %v, the simulator's groups are %v", got, want)
	}
}

func checkDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"FROM golang:1.26 AS build", "CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=`,
		":nonroot", "EXPOSE 9108", `ENTRYPOINT ["/usr/local/bin/dialpad-etl"]`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func env(s types.ServiceConfig, name string) string {
	if v, ok := s.Environment[name]; ok && v != nil {
		return *v
	}
	return ""
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func mustAbs(t *testing.T, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
