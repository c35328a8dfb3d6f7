package redisrevoke

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// masterFor returns the client that reaches the Redis holding key: client
// itself, or on a cluster the master of key's hash slot. SCAN and WAIT go
// there: a cluster client would send them to any node.
func masterFor(ctx context.Context, client redis.UniversalClient, key string) (redis.Cmdable, error) {
	cluster, ok := client.(*redis.ClusterClient)
	if !ok {
		return client, nil
	}
	return cluster.MasterForKey(ctx, key)
}
