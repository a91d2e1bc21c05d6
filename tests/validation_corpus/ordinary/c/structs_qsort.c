#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[32];
    int score;
} Player;

static int by_score(const void *a, const void *b) {
    const Player *p = a, *q = b;
    if (p->score != q->score) return q->score - p->score;
    return strcmp(p->name, q->name);
}

int main(void) {
    Player players[] = {{"ada", 90}, {"bob", 75}, {"cy", 90}};
    size_t n = sizeof players / sizeof players[0];
    qsort(players, n, sizeof(Player), by_score);
    for (size_t i = 0; i < n; i++) printf("%s %d\n", players[i].name, players[i].score);
    return 0;
}
