import XV6
