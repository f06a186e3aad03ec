// Package chcluster runs a ClickHouse cluster on one machine, for the
// tests and the benchmarks: a private ZooKeeper (Debian's zookeeper
// package) and private ClickHouse servers (see chserver) on loopback
// ports, as shards of replicas, each with the cluster in its
// remote_servers and its shard and replica in its macros.
//
// It imports internal/chserver and internal/child only.
package chcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// InstallHint tells a developer how to get ZooKeeper for the cluster's
// tests.
const InstallHint = "install it with 'apt-get install -y zookeeper' (or run 'make test')"

// zookeeperJar is where Debian's zookeeper package puts its classes.
const zookeeperJar = "/usr/share/java/zookeeper.jar"

// Available tells why a cluster cannot be started here, or nil.
func Available() error {
	if _, err := chserver.Find(); err != nil {
		return err
	}
	if _, err := os.Stat(zookeeperJar); err != nil {
		return errors.New("zookeeper is not installed")
	}
	if _, err := exec.LookPath("java"); err != nil {
		return errors.New("java is not installed (the zookeeper package brings it)")
	}
	return nil
}

// Options say what cluster to start.
type Options struct {
	Name     string // the cluster's name in remote_servers; "dialpad" when ""
	Shards   int    // 2 when 0
	Replicas int    // per shard; 2 when 0
	Dir      string // a new temporary directory when ""
	// UsersD is given to every node (see chserver.Options), beside
	// profile.xml, which sets in the default profile what docs/cluster.md asks of a cluster: distributed_product_mode
	// 'global', and on 18.16 prefer_localhost_replica 0; and 600 s for a
	// statement ON CLUSTER to reach every node (ClickHouse's own 180 s was
	// seen to run out on a 2-core machine running the other tests' servers
	// beside the cluster's four).
	UsersD map[string][]byte
}

const profile = `<yandex><profiles><default>
<distributed_product_mode>global</distributed_product_mode>
<prefer_localhost_replica>0</prefer_localhost_replica>
<distributed_ddl_task_timeout>600</distributed_ddl_task_timeout>
</default></profiles></yandex>`

// Node is one server of the cluster.
type Node struct {
	Shard, Replica int // from 1
	*chserver.Server
	opt chserver.Options
}

// Cluster is a running cluster.
type Cluster struct {
	Name  string
	Dir   string
	Nodes []*Node // shard by shard
	zk    *exec.Cmd
}

// Start starts ZooKeeper and the servers, and waits until they answer.
func Start(opt Options) (*Cluster, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if opt.Name == "" {
		opt.Name = "dialpad"
	}
	if opt.Shards == 0 {
		opt.Shards = 2
	}
	if opt.Replicas == 0 {
		opt.Replicas = 2
	}
	dir := opt.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "chcluster-"); err != nil {
			return nil, err
		}
	}
	usersD := map[string][]byte{"profile.xml": []byte(profile)}
	for name, body := range opt.UsersD {
		usersD[name] = body
	}
	c := &Cluster{Name: opt.Name, Dir: dir}
	zkPort, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	if err := c.startZooKeeper(zkPort); err != nil {
		c.Stop()
		return nil, err
	}
	n := opt.Shards * opt.Replicas
	ports := make([]int, n)
	for i := range ports {
		// Three ports each (native, HTTP, interserver), apart from the
		// others': a run of free ones is taken per node.
		p, err := child.FreeRun(3)
		if err != nil {
			c.Stop()
			return nil, err
		}
		ports[i] = p
	}
	var servers strings.Builder
	for s := range opt.Shards {
		servers.WriteString("<shard><internal_replication>true</internal_replication>")
		for r := range opt.Replicas {
			fmt.Fprintf(&servers, "<replica><host>127.0.0.1</host><port>%d</port></replica>", ports[s*opt.Replicas+r])
		}
		servers.WriteString("</shard>")
	}
	for s := range opt.Shards {
		for r := range opt.Replicas {
			i := s*opt.Replicas + r
			conf := fmt.Sprintf(`<remote_servers><%[1]s>%[2]s</%[1]s></remote_servers>
<zookeeper><node><host>127.0.0.1</host><port>%[3]d</port></node></zookeeper>
<macros><shard>%02[4]d</shard><replica>r%[5]d</replica></macros>
<interserver_http_host>127.0.0.1</interserver_http_host>`, opt.Name, servers.String(), zkPort, s+1, r+1)
			node := &Node{Shard: s + 1, Replica: r + 1, opt: chserver.Options{
				Dir:    filepath.Join(dir, fmt.Sprintf("s%dr%d", s+1, r+1)),
				Port:   ports[i],
				UsersD: usersD,
				Config: conf,
			}}
			if err := os.MkdirAll(node.opt.Dir, 0o755); err != nil {
				c.Stop()
				return nil, err
			}
			c.Nodes = append(c.Nodes, node)
		}
	}
	for _, node := range c.Nodes {
		if err := node.Start(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Addrs are the nodes' native addresses, shard by shard.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr())
	}
	return out
}

// Addr is the node's native address (it stays the same across restarts).
func (n *Node) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.opt.Port) }

// Start starts a node that was stopped, on its ports and data.
func (n *Node) Start() error {
	s, err := chserver.Start(n.opt)
	if err != nil {
		return fmt.Errorf("node of shard %d, replica %d: %w", n.Shard, n.Replica, err)
	}
	n.Server = s
	return nil
}

// Kill kills the node's server at once.
func (n *Node) Kill() {
	if n.Server != nil {
		n.Server.Stop()
	}
}

// Stop kills every server and ZooKeeper. It leaves the directory.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Kill()
	}
	child.Stop(c.zk)
}

// startZooKeeper starts a private ZooKeeper on port and waits until it
// answers "imok".
func (c *Cluster) startZooKeeper(port int) error {
	zkDir := filepath.Join(c.Dir, "zookeeper")
	if err := os.MkdirAll(filepath.Join(zkDir, "data"), 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`tickTime=500
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
`, filepath.Join(zkDir, "data"), port)
	cfgPath := filepath.Join(zkDir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	cp := zookeeperJar + ":/usr/share/java/*:/etc/zookeeper/conf"
	cmd := child.Command(false, "java", "-Xmx256m", "-cp", cp,
		"-Dzookeeper.log.dir="+zkDir, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath)
	logf, err := os.Create(filepath.Join(zkDir, "stdout.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start zookeeper: %w", err)
	}
	c.zk = cmd
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ruok(addr) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("zookeeper at %s did not answer within 60s (log: %s)", addr, zkDir)
}

func ruok(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("ruok")); err != nil {
		return false
	}
	b := make([]byte, 4)
	n, _ := conn.Read(b)
	return string(b[:n]) == "imok"
}
