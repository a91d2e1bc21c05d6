import heapq
import sys


def dijkstra(graph, source):
    dist = {node: float("inf") for node in graph}
    dist[source] = 0
    heap = [(0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in graph[u]:
            if d + w < dist[v]:
                dist[v] = d + w
                heapq.heappush(heap, (dist[v], v))
    return dist


tokens = iter(sys.stdin.read().split())
n, m = int(next(tokens, 3)), int(next(tokens, 0))
graph = {i: [] for i in range(n)}
for _ in range(m):
    u, v, w = int(next(tokens)), int(next(tokens)), int(next(tokens))
    graph[u].append((v, w))
print(dijkstra(graph, 0))
