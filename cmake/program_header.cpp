// Compiles the precompiled header that the project's programs share (cmake/Programs.cmake).
