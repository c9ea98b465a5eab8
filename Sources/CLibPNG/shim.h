// Debian's libpng-dev installs png.h both in /usr/include and /usr/include/libpng16 (which
// `pkg-config libpng` names); zlib comes with it as a dependency of libpng.
#include <png.h>
