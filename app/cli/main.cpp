#include <iostream>
#include "common/runtime.h"
int main() { headlab::configure_threads(); std::cout << headlab::runtime_summary() << "\n"; }
