#include <stdio.h>
#include <stdlib.h>

struct node {
    int value;
    struct node *next;
};

static struct node *push(struct node *head, int value) {
    struct node *n = malloc(sizeof *n);
    if (!n) exit(1);
    n->value = value;
    n->next = head;
    return n;
}

static struct node *reverse(struct node *head) {
    struct node *prev = NULL;
    while (head) {
        struct node *next = head->next;
        head->next = prev;
        prev = head;
        head = next;
    }
    return prev;
}

int main(void) {
    struct node *list = NULL;
    int *grow = NULL;
    for (int i = 0; i < 5; i++) {
        list = push(list, i);
        grow = realloc(grow, (size_t)(i + 1) * sizeof *grow);
        grow[i] = i * i;
    }
    for (struct node *p = list = reverse(list); p; p = p->next) printf("%d ", p->value);
    printf("| %d\n", grow[4]);
    while (list) {
        struct node *next = list->next;
        free(list);
        list = next;
    }
    free(grow);
    return 0;
}
