package grafana

import (
	"context"
	"encoding/xml"
	"fmt"
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
	t.Run("grafana mail", checkGrafanaMail)
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
	// The alert rules are provisioned from the same mount.
	if _, err := os.Stat(filepath.Join(mounts["/etc/grafana/provisioning"].Source, "alerting", "dialpad.json")); err != nil {
		t.Errorf("the alert rules are not in the provisioning Grafana reads: %v", err)
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

// Grafana sends the alert rules' e-mail through the job's mail server
// (SMTP_ADDR, its login and REPORT_FROM), and sends none when it has
// none.
func checkGrafanaMail(t *testing.T) {
	p, err := loadCompose(t, append(slices.Clone(requiredEnv), "SMTP_ADDR=smtp.example.com:587", "SMTP_USERNAME=etl",
		"SMTP_PASSWORD=smtp-secret", "REPORT_FROM=etl@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"grafana", "grafana-cluster"} {
		s, ok := p.Services[name]
		if !ok {
			s, ok = p.DisabledServices[name]
		}
		if !ok {
			t.Fatalf("no service %s", name)
		}
		for k, want := range map[string]string{"GF_SMTP_ENABLED": "true", "GF_SMTP_HOST": "smtp.example.com:587",
			"GF_SMTP_USER": "etl", "GF_SMTP_PASSWORD": "smtp-secret", "GF_SMTP_FROM_ADDRESS": "etl@example.com"} {
			if got := env(s, k); got != want {
				t.Errorf("%s: %s=%q, want %q", name, k, got, want)
			}
		}
	}
	p, err = loadCompose(t, requiredEnv)
	if err != nil {
		t.Fatal(err)
	}
	if v := env(p.Services["grafana"], "GF_SMTP_ENABLED"); v != "" && v != "false" {
		t.Errorf("without SMTP_ADDR, GF_SMTP_ENABLED=%q; want Grafana's mail off", v)
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

// The cluster profile: two shards of two replicas of the server, with
// ClickHouse Keeper, and a job and a Grafana on them. Its configuration
// is in grafana/clickhouse/cluster, one file for every node: the nodes
// differ only by their environment and their data volume.

var clusterNodes = []string{"ch-s1r1", "ch-s1r2", "ch-s2r1", "ch-s2r2"}

func TestComposeClusterProfile(t *testing.T) {
	p, err := loadCompose(t, requiredEnv, "cluster")
	if err != nil {
		t.Fatalf("docker-compose.yml with the cluster profile does not load: %v", err)
	}
	cluster := append([]string{"keeper", "etl-cluster", "grafana-cluster"}, clusterNodes...)
	if names := p.ServiceNames(); !sameSet(names, append([]string{"clickhouse", "grafana", "etl"}, cluster...)) {
		t.Fatalf("services of the cluster profile: %v", names)
	}
	for _, name := range cluster {
		if s := p.Services[name]; !slices.Equal(s.Profiles, []string{"cluster"}) {
			t.Errorf("%s: profiles %v, want [cluster]", name, s.Profiles)
		}
	}
	t.Run("start", func(t *testing.T) { checkClusterStart(t, p) })

	conf := readXML(t, mustAbs(t, filepath.Join("clickhouse", "cluster", "cluster.xml")))
	c := clusterOf(t, conf)
	t.Run("keeper", func(t *testing.T) { checkKeeper(t, p, conf) })
	if ddl := conf.one(t, "distributed_ddl", "path").value(types.ServiceConfig{}); ddl != "/clickhouse/task_queue/ddl" {
		t.Errorf("distributed_ddl path %q, want /clickhouse/task_queue/ddl", ddl)
	}

	single := p.Services["clickhouse"]
	macros, secrets, data := map[string]string{}, map[string]bool{}, map[string]string{}
	for _, name := range clusterNodes {
		t.Run(name, func(t *testing.T) {
			s := p.Services[name]
			checkClickHouse(t, s)
			if s.Image != single.Image {
				t.Errorf("image %q, want the single server's %q", s.Image, single.Image)
			}
			// The same users on every node, as on the single server.
			for _, v := range []string{"CLICKHOUSE_DB", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "GRAFANA_CLICKHOUSE_PASSWORD", "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"} {
				if env(s, v) != env(single, v) {
					t.Errorf("%s=%q, the single server has %q", v, env(s, v), env(single, v))
				}
			}
			// Its own data.
			vol := clickhouseData(s)
			if other, ok := data[vol]; ok {
				t.Errorf("data volume %s is also %s's", vol, other)
			} else if vol == clickhouseData(single) {
				t.Errorf("data volume %s is also the single server's", vol)
			}
			data[vol] = name
			checkMounted(t, s, "/etc/clickhouse-server/config.d/", filepath.Join("clickhouse", "cluster", "cluster.xml"))
			checkMounted(t, s, "/etc/clickhouse-server/users.d/", filepath.Join("clickhouse", "cluster", "cluster-profile.xml"))
			if d, ok := s.DependsOn["keeper"]; !ok {
				t.Error("does not depend on keeper")
			} else if d.Condition == types.ServiceConditionHealthy && p.Services["keeper"].HealthCheck == nil {
				t.Error("waits for a healthy keeper, which has no healthcheck")
			}

			// Its macros and host name say where it stands in remote_servers.
			pos, ok := c.position[name]
			if !ok {
				t.Fatal("not in remote_servers")
			}
			shard, replica := conf.one(t, "macros", "shard").value(s), conf.one(t, "macros", "replica").value(s)
			if want := fmt.Sprintf("%02d", pos.shard+1); shard != want {
				t.Errorf("macro shard %q, want %q (shard %d of remote_servers)", shard, want, pos.shard+1)
			}
			if want := fmt.Sprintf("r%d", pos.replica+1); replica != want {
				t.Errorf("macro replica %q, want %q (replica %d of its shard)", replica, want, pos.replica+1)
			}
			if other, dup := macros[shard+"/"+replica]; dup {
				t.Errorf("macros %s/%s are also %s's", shard, replica, other)
			}
			macros[shard+"/"+replica] = name
			if host := conf.one(t, "interserver_http_host").value(s); host != name {
				t.Errorf("interserver_http_host %q: the other replica fetches parts from %s", host, name)
			}
			for _, secret := range c.node.all("secret") {
				if v := secret.value(s); v == "" {
					t.Error("the cluster's secret is empty")
				} else {
					secrets[v] = true
				}
			}
			checkDistributedProductMode(t, s)
		})
	}
	if len(secrets) > 1 {
		t.Error("the nodes do not share the cluster's secret")
	}
	if len(secrets) == 1 && !secrets[env(single, "CLICKHOUSE_PASSWORD")] {
		t.Error("the cluster's secret does not default to CLICKHOUSE_PASSWORD")
	}
	// The single server does not get the cluster's settings.
	for _, f := range usersD(t, single) {
		for _, prof := range f.all("profiles") {
			for _, set := range prof.Nodes {
				if len(set.all("distributed_product_mode")) > 0 {
					t.Errorf("the single server's profile %s sets distributed_product_mode", set.XMLName.Local)
				}
			}
		}
	}

	t.Run("etl-cluster", func(t *testing.T) {
		s, etl := p.Services["etl-cluster"], p.Services["etl"]
		if s.Image != etl.Image || s.Build == nil || etl.Build == nil || s.Build.Context != etl.Build.Context {
			t.Errorf("image %q, build %+v: want the job's own", s.Image, s.Build)
		}
		if !slices.Equal([]string(s.Command), []string{"schedule"}) {
			t.Errorf("command %v, want [schedule]", s.Command)
		}
		if len(s.EnvFiles) != 1 || filepath.Base(s.EnvFiles[0].Path) != ".env" {
			t.Errorf("env_file %+v, want .env", s.EnvFiles)
		}
		for _, v := range []string{"CLICKHOUSE_DATABASE", "CLICKHOUSE_USERNAME", "CLICKHOUSE_PASSWORD"} {
			if env(s, v) != env(etl, v) {
				t.Errorf("%s=%q, the job has %q", v, env(s, v), env(etl, v))
			}
		}
		if got := env(s, "CLICKHOUSE_CLUSTER"); got != c.name {
			t.Errorf("CLICKHOUSE_CLUSTER %q, remote_servers names the cluster %q", got, c.name)
		}
		var want []string
		for _, name := range clusterNodes {
			want = append(want, name+":"+c.port[name])
		}
		if got := strings.Split(env(s, "CLICKHOUSE_ADDR"), ","); !sameSet(got, want) {
			t.Errorf("CLICKHOUSE_ADDR %v, want the nodes %v", got, want)
		}
		for _, name := range clusterNodes {
			if d, ok := s.DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("does not wait for a healthy %s", name)
			}
		}
	})

	t.Run("grafana-cluster", func(t *testing.T) {
		s, g := p.Services["grafana-cluster"], p.Services["grafana"]
		checkGrafana(t, s)
		host := env(s, "CLICKHOUSE_HOST")
		if _, ok := c.position[host]; !ok {
			t.Fatalf("CLICKHOUSE_HOST %q is not a node of the cluster", host)
		}
		if env(s, "CLICKHOUSE_PORT") != c.port[host] {
			t.Errorf("CLICKHOUSE_PORT %q, %s listens on %s", env(s, "CLICKHOUSE_PORT"), host, c.port[host])
		}
		if d, ok := s.DependsOn[host]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("does not wait for a healthy %s", host)
		}
		// Beside the single stack's Grafana: another port, other data.
		for _, a := range s.Ports {
			for _, b := range g.Ports {
				if a.Published == b.Published {
					t.Errorf("publishes %s, as grafana does", a.Published)
				}
			}
		}
		if gd, sd := grafanaData(g), grafanaData(s); sd == "" || sd == gd {
			t.Errorf("/var/lib/grafana is %q, grafana's is %q: want its own volume", sd, gd)
		}
	})
}

// checkClusterStart checks the header's command for the cluster: the
// services it scales to 0 exist, they are the ones without a profile,
// and nothing it starts waits for them.
func checkClusterStart(t *testing.T, p *types.Project) {
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cmd []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "#")); strings.HasPrefix(line, "#") && len(f) > 3 &&
			slices.Equal(f[:4], []string{"docker", "compose", "--profile", "cluster"}) {
			cmd = f
		}
	}
	if cmd == nil {
		t.Fatal("the header comment does not say how to start the cluster (docker compose --profile cluster ...)")
	}
	scale := map[string]int{}
	for i, a := range cmd {
		if a == "--scale" && i+1 < len(cmd) {
			name, n, _ := strings.Cut(cmd[i+1], "=")
			if _, ok := p.Services[name]; !ok {
				t.Errorf("%s: no such service", cmd[i+1])
			}
			if scale[name], err = strconv.Atoi(n); err != nil {
				t.Errorf("%s: %v", cmd[i+1], err)
			}
		}
	}
	for name, s := range p.Services {
		if n, ok := scale[name]; ok {
			s.SetScale(n)
		}
		if len(s.Profiles) == 0 && s.GetScale() != 0 {
			t.Errorf("%q starts %s beside the cluster", strings.Join(cmd, " "), name)
		}
		if s.GetScale() == 0 {
			continue
		}
		for dep := range s.DependsOn {
			if n, ok := scale[dep]; ok && n == 0 {
				t.Errorf("%s depends on %s, which %q does not start", name, dep, strings.Join(cmd, " "))
			}
		}
	}
}

// checkKeeper checks the keeper service against keeper.xml and the
// nodes' zookeeper section.
func checkKeeper(t *testing.T, p *types.Project, conf xmlNode) {
	s := p.Services["keeper"]
	server := p.Services["clickhouse"].Image
	if tag := strings.TrimPrefix(server, "clickhouse/clickhouse-server:"); s.Image != "clickhouse/clickhouse-keeper:"+tag {
		t.Errorf("image %q, want clickhouse/clickhouse-keeper:%s (the server's release)", s.Image, tag)
	}
	source := mustAbs(t, filepath.Join("clickhouse", "cluster", "keeper.xml"))
	mounted := false
	for _, v := range s.Volumes {
		// The file the image's entrypoint starts Keeper with.
		mounted = mounted || v.Source == source && v.Target == "/etc/clickhouse-keeper/keeper_config.xml" && v.ReadOnly
	}
	if !mounted {
		t.Error("grafana/clickhouse/cluster/keeper.xml is not mounted read-only as /etc/clickhouse-keeper/keeper_config.xml")
	}
	k := readXML(t, source)
	port := k.one(t, "keeper_server", "tcp_port").value(s)
	nodes := conf.all("zookeeper", "node")
	if len(nodes) == 0 {
		t.Error("cluster.xml names no zookeeper node")
	}
	for _, n := range nodes {
		host, p := n.one(t, "host").value(s), n.one(t, "port").value(s)
		if host != "keeper" || p != port {
			t.Errorf("zookeeper node %s:%s, Keeper is keeper:%s", host, p, port)
		}
	}
	if l := k.all("listen_host"); len(l) == 0 || !slices.ContainsFunc(l, func(n xmlNode) bool {
		v := n.value(s)
		return v == "0.0.0.0" || v == "::"
	}) {
		t.Error("Keeper does not listen on every interface: the nodes cannot reach it")
	}
	id := k.one(t, "keeper_server", "server_id").value(s)
	self := false
	for _, srv := range k.all("keeper_server", "raft_configuration", "server") {
		self = self || srv.one(t, "id").value(s) == id && srv.one(t, "hostname").value(s) == "keeper"
	}
	if !self {
		t.Errorf("raft_configuration has no server %s at host keeper", id)
	}
	// Its log and snapshots are kept in a volume.
	for _, dir := range []string{"log_storage_path", "snapshot_storage_path"} {
		path := k.one(t, "keeper_server", dir).value(s)
		kept := false
		for _, v := range s.Volumes {
			kept = kept || v.Type == types.VolumeTypeVolume && strings.HasPrefix(path, strings.TrimSuffix(v.Target, "/")+"/")
		}
		if !kept {
			t.Errorf("%s %s is not in a volume", dir, path)
		}
	}
	if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), port) {
		t.Errorf("healthcheck %v does not ask Keeper on its port %s", s.HealthCheck, port)
	}
}

// checkMounted checks that the repository's file rel (below grafana/) is
// mounted read-only into dir.
func checkMounted(t *testing.T, s types.ServiceConfig, dir, rel string) {
	t.Helper()
	source := mustAbs(t, rel)
	if _, err := os.Stat(source); err != nil {
		t.Fatal(err)
	}
	for _, v := range s.Volumes {
		if v.Source == source && strings.HasPrefix(v.Target, dir) && strings.HasSuffix(v.Target, ".xml") && v.ReadOnly {
			return
		}
	}
	t.Errorf("grafana/%s is not mounted read-only into %s", filepath.ToSlash(rel), dir)
}

// checkDistributedProductMode checks that on the node both the job's
// profile (default) and the profile of Grafana's user read Distributed
// tables with distributed_product_mode = global, from its users.d.
func checkDistributedProductMode(t *testing.T, s types.ServiceConfig) {
	t.Helper()
	files := usersD(t, s)
	var profile string
	for _, f := range files {
		for _, u := range f.all("users", "grafana", "profile") {
			profile = u.value(s)
		}
	}
	if profile == "" {
		t.Fatal("Grafana's user has no profile in users.d")
	}
	for _, name := range []string{"default", profile} {
		var modes []string
		for _, f := range files {
			for _, m := range f.all("profiles", name, "distributed_product_mode") {
				modes = append(modes, m.value(s))
			}
		}
		if len(modes) == 0 || slices.ContainsFunc(modes, func(m string) bool { return m != "global" }) {
			t.Errorf("profile %s: distributed_product_mode %v, want global", name, modes)
		}
	}
}

// usersD reads the files mounted into the server's users.d.
func usersD(t *testing.T, s types.ServiceConfig) []xmlNode {
	t.Helper()
	var out []xmlNode
	for _, v := range s.Volumes {
		if strings.HasPrefix(v.Target, "/etc/clickhouse-server/users.d/") {
			out = append(out, readXML(t, v.Source))
		}
	}
	return out
}

func clickhouseData(s types.ServiceConfig) string { return volumeAt(s, "/var/lib/clickhouse") }
func grafanaData(s types.ServiceConfig) string    { return volumeAt(s, "/var/lib/grafana") }

func volumeAt(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Target == target && v.Type == types.VolumeTypeVolume {
			return v.Source
		}
	}
	return ""
}

// chCluster is a cluster of remote_servers.
type chCluster struct {
	name     string
	node     xmlNode
	position map[string]struct{ shard, replica int } // by host
	port     map[string]string                       // by host
}

// clusterOf reads the only cluster of cluster.xml's remote_servers, which
// must be the node services, two shards of two replicas.
func clusterOf(t *testing.T, conf xmlNode) chCluster {
	t.Helper()
	clusters := conf.one(t, "remote_servers").Nodes
	if len(clusters) != 1 || clusters[0].XMLName.Local != "dialpad" {
		t.Fatalf("remote_servers has %d clusters, want one, dialpad", len(clusters))
	}
	c := chCluster{name: clusters[0].XMLName.Local, node: clusters[0],
		position: map[string]struct{ shard, replica int }{}, port: map[string]string{}}
	shards := c.node.all("shard")
	if len(shards) != 2 {
		t.Errorf("cluster %s has %d shards, want 2", c.name, len(shards))
	}
	var hosts []string
	for i, shard := range shards {
		if v := shard.one(t, "internal_replication").value(types.ServiceConfig{}); v != "true" {
			t.Errorf("shard %d: internal_replication %q, want true (the replicated tables copy rows)", i+1, v)
		}
		replicas := shard.all("replica")
		if len(replicas) != 2 {
			t.Errorf("shard %d has %d replicas, want 2", i+1, len(replicas))
		}
		for j, r := range replicas {
			host, port := r.one(t, "host").value(types.ServiceConfig{}), r.one(t, "port").value(types.ServiceConfig{})
			if port != "9000" {
				t.Errorf("%s: port %q, want the native port 9000", host, port)
			}
			if _, dup := c.position[host]; dup {
				t.Errorf("%s is in remote_servers twice", host)
			}
			c.position[host] = struct{ shard, replica int }{i, j}
			c.port[host] = port
			hosts = append(hosts, host)
		}
	}
	if !sameSet(hosts, clusterNodes) {
		t.Errorf("remote_servers lists %v, want the node services %v", hosts, clusterNodes)
	}
	return c
}

// xmlNode is an element of a ClickHouse configuration file.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []xmlNode  `xml:",any"`
}

func readXML(t *testing.T, path string) xmlNode {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n xmlNode
	if err := xml.Unmarshal(raw, &n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if n.XMLName.Local != "clickhouse" {
		t.Fatalf("%s: root <%s>, want <clickhouse>", path, n.XMLName.Local)
	}
	return n
}

// all returns the elements at path below n.
func (n xmlNode) all(path ...string) []xmlNode {
	if len(path) == 0 {
		return []xmlNode{n}
	}
	var out []xmlNode
	for _, c := range n.Nodes {
		if c.XMLName.Local == path[0] {
			out = append(out, c.all(path[1:]...)...)
		}
	}
	return out
}

// one returns the only element at path below n.
func (n xmlNode) one(t *testing.T, path ...string) xmlNode {
	t.Helper()
	all := n.all(path...)
	if len(all) != 1 {
		t.Fatalf("<%s>: %d elements %s, want one", n.XMLName.Local, len(all), strings.Join(path, "/"))
	}
	return all[0]
}

// value is what the server with s's environment reads from the element:
// the variable its from_env attribute names, or else its text.
func (n xmlNode) value(s types.ServiceConfig) string {
	for _, a := range n.Attrs {
		if a.Name.Local == "from_env" {
			return env(s, a.Value)
		}
	}
	return strings.TrimSpace(n.Text)
}
