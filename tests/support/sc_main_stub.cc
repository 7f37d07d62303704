// libsystemc references sc_main; test executables have GoogleTest's main instead, so this one is never called.
extern "C" int sc_main(int, char**) { return 0; }
