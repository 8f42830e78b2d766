/* probe: a tiny static program copied into test containers (see tests/README). */
#include <stdio.h>
int main(void)
{
        puts("probe");
        return 0;
}
