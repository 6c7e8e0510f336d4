/* A plain C shared library, built by TestHostile with
   gcc -shared -fPIC -o clib.so clib.c: an ELF shared object that is not a
   Go plugin and has no hotfix trailer. */
int answer(void) { return 42; }
