// Placeholder until the CLI lands (apps/ work in progress).
int main() { return 2; }
