package conns

import (
	"net"
	"time"
)

// reservePort throws the listener away: reported, not closed at once. The collector's
// finalizer closes it some time later; closing it right after the call would free the port
// at once, which other processes can see.
func reservePort() error {
	_, err := net.Listen("tcp", "127.0.0.1:0") // want "resource-not-released"
	return err
}

// pingPeer throws the connection away: closing it at once would tell the peer.
func pingPeer(addr string) error {
	_, err := net.Dial("tcp", addr) // want "resource-not-released"
	return err
}

// dropTicker: a ticker nobody can reach is collected.
func dropTicker() {
	_ = time.NewTicker(time.Second) // want "resource-not-released"
}
