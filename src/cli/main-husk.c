#include <stdio.h>
int main(void)
{
        fprintf(stderr, "husk: no commands yet\n");
        return 1;
}
