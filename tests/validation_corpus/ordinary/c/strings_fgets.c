#include <stdio.h>
#include <string.h>
#include <ctype.h>

int main(void) {
    char line[1024];
    int words = 0, lines = 0;
    while (fgets(line, sizeof line, stdin)) {
        lines++;
        line[strcspn(line, "\n")] = '\0';
        for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
            words++;
            for (char *p = tok; *p; p++) *p = (char)toupper((unsigned char)*p);
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%d lines, %d words", lines, words);
    puts(buf);
    return 0;
}
