#include <stdio.h>
int main(void){puts("skipped: not yet");return 77;}
