# cmake --install: headers, libraries, the CLI, a CMake package and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(crpsgd_core PROPERTIES EXPORT_NAME core)
set_target_properties(crpsgd_job PROPERTIES EXPORT_NAME job)
set(crpsgd_install_targets crpsgd_core crpsgd_job crpsgd_cli)
if(CRPSGD_WITH_MPI)
  set_target_properties(crpsgd_mpi PROPERTIES EXPORT_NAME mpi)
  list(APPEND crpsgd_install_targets crpsgd_mpi)
endif()
if(CRPSGD_WITH_TORCH)
  set_target_properties(crpsgd_torch PROPERTIES EXPORT_NAME torch)
  list(APPEND crpsgd_install_targets crpsgd_torch)
endif()
target_include_directories(crpsgd_core PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(TARGETS ${crpsgd_install_targets} EXPORT crpsgdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/crpsgd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/generated/crpsgd/config.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/crpsgd)

set(crpsgd_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/crpsgd)
install(EXPORT crpsgdTargets NAMESPACE crpsgd:: DESTINATION ${crpsgd_cmake_dir})
configure_package_config_file(cmake/crpsgdConfig.cmake.in ${PROJECT_BINARY_DIR}/crpsgdConfig.cmake
                              INSTALL_DESTINATION ${crpsgd_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/crpsgdConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/crpsgdConfig.cmake ${PROJECT_BINARY_DIR}/crpsgdConfigVersion.cmake
        DESTINATION ${crpsgd_cmake_dir})

file(RELATIVE_PATH CRPSGD_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CRPSGD_PC_TO_PREFIX "${CRPSGD_PC_TO_PREFIX}")
configure_file(cmake/crpsgd.pc.in ${PROJECT_BINARY_DIR}/crpsgd.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/crpsgd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
